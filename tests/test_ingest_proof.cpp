// Removal only on proof (issue 9): a video leaves the library only when a folder listed in this run, on the
// device it was indexed on, lacks its name. Nested mount points that vanished, symlinks whose target is
// gone, folders this run does not walk, renamed videos, file roots, nested roots and moves out of the roots.
#include <sys/stat.h>

#include <set>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

using namespace xsearch::test;
namespace fs = std::filesystem;

namespace {

int videos_in(const fs::path& db) { return std::atoi(sqlite_value(db, "SELECT count(*) FROM videos").c_str()); }

// Runs `ingest ARGS --json`, expecting `status`.
nlohmann::json ingest(const std::string& args, int status) { return run_json("ingest " + args, status); }

}  // namespace

TEST_CASE("a subfolder now on another device than when indexed (a drive unmounted from under it) is offline, not a deletion", "[cli][index]") {
  // A drive mounted at videos/usb: its videos' names live on its device. Unmounted, videos/usb is the
  // folder underneath again: another device, perhaps with a file of its own. Mounting needs privileges a
  // test does not have, so the library is told the drive's device was another one.
  TempDir tmp;
  make_video(tmp / "videos" / "home.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "usb" / "a.mp4", "mandelbrot", 4);
  make_video(tmp / "videos" / "usb" / "deep" / "b.mp4", "smptebars", 4);
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "videos").string()) + db_arg(db);
  REQUIRE(ingest(args + model_arg(), 0)["indexed"] == 3);
  CHECK(sqlite_value(db, "SELECT count(*) FROM videos WHERE dev IS NULL") == "0");  // every video's device is known
  sqlite_value(db, "UPDATE videos SET dev = dev + 1 WHERE path LIKE '%/usb/%'");
  fs::remove_all(tmp / "videos" / "usb");
  fs::create_directories(tmp / "videos" / "usb");
  write_file(tmp / "videos" / "usb" / "README.txt", "mount point of the usb drive\n");

  const auto s = ingest(args, 3);
  CHECK(s["removed"] == 0);
  CHECK(s["offline"] == 2);
  REQUIRE(s["offline_roots"].size() == 1);
  CHECK(s["offline_roots"][0]["path"] == (tmp / "videos" / "usb").string());
  CHECK_THAT(s["offline_roots"][0]["error"].get<std::string>(), Catch::Contains("another device"));
  CHECK(videos_in(db) == 3);
  // Deliberately pruned: the user says the drive is gone for good.
  const auto pruned = ingest(args + " --prune-offline", 0);
  CHECK(pruned["removed"] == 2);
  CHECK(videos_in(db) == 1);
}

TEST_CASE("an empty subfolder where the library had videos (an empty mount point) is offline, not a deletion", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "home.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "usb" / "a.mp4", "mandelbrot", 4);
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "videos").string()) + db_arg(db);
  REQUIRE(ingest(args + model_arg(), 0)["indexed"] == 2);
  fs::remove(tmp / "videos" / "usb" / "a.mp4");
  const auto s = ingest(args, 3);
  CHECK(s["removed"] == 0);
  CHECK(s["offline"] == 1);
  CHECK(s["offline_roots"][0]["path"] == (tmp / "videos" / "usb").string());
  CHECK_THAT(s["offline_roots"][0]["error"].get<std::string>(), Catch::Contains("empty"));
  CHECK(videos_in(db) == 2);
}

TEST_CASE("a video in a deleted subfolder is removed: the folder above it was listed without it", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "home.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "trip" / "day1" / "a.mp4", "mandelbrot", 4);
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "videos").string()) + db_arg(db);
  REQUIRE(ingest(args + model_arg(), 0)["indexed"] == 2);
  fs::remove_all(tmp / "videos" / "trip");
  const auto s = ingest(args, 0);
  CHECK(s["removed"] == 1);
  CHECK(s["offline"] == 0);
  CHECK(videos_in(db) == 1);
}

TEST_CASE("a folder symlink or a video symlink whose target vanished is offline, not a deletion", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "home.mp4", "testsrc2", 4);
  make_video(tmp / "drive" / "folder" / "a.mp4", "mandelbrot", 4);
  make_video(tmp / "drive" / "b.mp4", "smptebars", 4);
  fs::create_directory_symlink(tmp / "drive" / "folder", tmp / "videos" / "linked");
  fs::create_symlink(tmp / "drive" / "b.mp4", tmp / "videos" / "b.mp4");
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "videos").string()) + db_arg(db);
  // Folder symlinks are not followed by the walk: the linked folder is named as a root of its own once.
  REQUIRE(ingest(args + " " + quote((tmp / "videos" / "linked").string()) + model_arg(), 0)["indexed"] == 3);
  fs::remove_all(tmp / "drive");

  const auto s = ingest(args, 3);
  CHECK(s["removed"] == 0);
  CHECK(s["offline"] == 2);
  std::set<std::string> places;
  for (const auto& p : s["offline_roots"]) places.insert(p["path"].get<std::string>() + ": " + p["error"].get<std::string>());
  CHECK(places.count((tmp / "videos" / "linked").string() + ": a symlink whose target is missing"));
  CHECK(places.count((tmp / "videos" / "b.mp4").string() + ": a symlink whose target is missing"));
  CHECK(videos_in(db) == 3);
}

TEST_CASE("a video under a hidden folder that this run does not walk is kept even when its file is gone", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / ".private" / "b.mp4", "mandelbrot", 4);
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "videos").string()) + db_arg(db);
  REQUIRE(ingest(args + " --hidden" + model_arg(), 0)["indexed"] == 2);
  fs::remove(tmp / "videos" / ".private" / "b.mp4");
  make_video(tmp / "videos" / ".private" / "c.mp4", "smptebars", 4);  // the folder is not empty
  // Without --hidden, .private is not listed: nothing proves b.mp4 gone.
  const auto s = ingest(args, 0);
  CHECK(s["removed"] == 0);
  CHECK(videos_in(db) == 2);
  CHECK(ingest(args + " --hidden", 0)["removed"] == 1);
}

TEST_CASE("another drive mounted where a root was (another st_dev) is offline even if it holds a file of the same name", "[cli][index]") {
  // A root reached through a symlink walks the device behind it: /dev/shm (tmpfs) first, then a folder
  // of the temp directory, where a copy of one video (not the same file: another mtime) lies.
  TempDir tmp;
  struct stat shm {}, here {};
  if (::stat("/dev/shm", &shm) != 0 || ::stat(tmp.path().c_str(), &here) != 0 || shm.st_dev == here.st_dev) {
    WARN("skipped: /dev/shm is not another device than " << tmp.path());
    return;
  }
  const fs::path drive = fs::path("/dev/shm") / tmp.path().filename();
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{drive};
  make_video(drive / "a.mp4", "testsrc2", 4);
  make_video(drive / "b.mp4", "mandelbrot", 4);
  fs::create_directory_symlink(drive, tmp / "mnt");
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "mnt").string()) + db_arg(db);
  REQUIRE(ingest(args + model_arg(), 0)["indexed"] == 2);
  fs::create_directories(tmp / "other");
  fs::copy_file(drive / "a.mp4", tmp / "other" / "a.mp4");
  fs::last_write_time(tmp / "other" / "a.mp4", fs::last_write_time(drive / "a.mp4") + std::chrono::seconds(60));
  fs::remove(tmp / "mnt");
  fs::create_directory_symlink(tmp / "other", tmp / "mnt");

  const auto s = ingest(args, 3);
  CHECK(s["removed"] == 0);
  CHECK(s["offline"] == 1);  // b.mp4; a.mp4 is there (changed: embedded again)
  CHECK(videos_in(db) == 2);
}

TEST_CASE("a drive renumbered (its videos found unchanged under a new st_dev) still proves a deleted video gone", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "b.mp4", "mandelbrot", 4);
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "videos").string()) + db_arg(db);
  REQUIRE(ingest(args + model_arg(), 0)["indexed"] == 2);
  sqlite_value(db, "UPDATE videos SET dev = dev + 1");  // the number the drive had before
  fs::remove(tmp / "videos" / "b.mp4");
  const auto s = ingest(args, 0);
  CHECK(s["removed"] == 1);
  CHECK(s["offline"] == 0);
  // The new number is recorded.
  struct stat st {};
  REQUIRE(::stat((tmp / "videos").c_str(), &st) == 0);
  CHECK(sqlite_value(db, "SELECT dev FROM videos") == std::to_string(st.st_dev));
}

TEST_CASE("a root whose every video was renamed is present: its videos are moved, not offline", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "b.mp4", "mandelbrot", 4);
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "videos").string()) + db_arg(db);
  REQUIRE(ingest(args + model_arg(), 0)["indexed"] == 2);
  const std::string ids = sqlite_value(db, "SELECT group_concat(id) FROM clips");
  fs::rename(tmp / "videos" / "a.mp4", tmp / "videos" / "2024-a.mp4");
  fs::rename(tmp / "videos" / "b.mp4", tmp / "videos" / "2024-b.mp4");
  const auto s = ingest(args, 0);
  CHECK(s["moved"] == 2);
  CHECK(s["offline"] == 0);
  CHECK(s["indexed"] == 0);
  CHECK(sqlite_value(db, "SELECT group_concat(id) FROM clips") == ids);  // the same clips, nothing embedded again
  CHECK(sqlite_value(db, "SELECT count(*) FROM videos WHERE path LIKE '%/2024-%'") == "2");
}

TEST_CASE("a video moved out of this run's roots is not taken over by its copy inside them", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "one" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "one" / "kept.mp4", "rgbtestsrc", 4);
  make_video(tmp / "two" / "b.mp4", "mandelbrot", 4);
  const auto db = tmp / "lib.db";
  REQUIRE(ingest(quote((tmp / "one").string()) + " " + quote((tmp / "two").string()) + db_arg(db) + model_arg(), 0)["indexed"] == 3);
  fs::rename(tmp / "one" / "a.mp4", tmp / "two" / "a.mp4");
  // Only two/ is walked: one/a.mp4 is not judged by this run (its folder was not listed), so it is
  // neither re-pointed nor removed; two/a.mp4 is a new video.
  const auto s = ingest(quote((tmp / "two").string()) + db_arg(db), 0);
  CHECK(s["moved"] == 0);
  CHECK(s["indexed"] == 1);
  CHECK(sqlite_value(db, "SELECT count(*) FROM videos WHERE path = " + quote((tmp / "one" / "a.mp4").string())) == "1");
  // A run over one/ then proves it gone.
  CHECK(ingest(quote((tmp / "one").string()) + db_arg(db), 0)["removed"] == 1);
}

TEST_CASE("a deleted file given as the root is removed once its folder is listed without it", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "b.mp4", "mandelbrot", 4);
  const auto db = tmp / "lib.db";
  const std::string args = quote((tmp / "videos" / "a.mp4").string()) + db_arg(db);
  REQUIRE(ingest(args + model_arg(), 0)["indexed"] == 1);
  fs::remove(tmp / "videos" / "a.mp4");
  const auto s = ingest(args, 0);
  CHECK(s["removed"] == 1);
  CHECK(s["offline"] == 0);
  CHECK(s["failed"] == 0);
  CHECK(videos_in(db) == 0);
  // Its folder gone too (a drive away): offline, kept.
  make_video(tmp / "drive" / "c.mp4", "smptebars", 4);
  const std::string c = quote((tmp / "drive" / "c.mp4").string()) + db_arg(db);
  REQUIRE(ingest(c, 0)["indexed"] == 1);
  fs::remove_all(tmp / "drive");
  CHECK(ingest(c, 3)["offline"] == 1);
  CHECK(videos_in(db) == 1);
}

TEST_CASE("nested and repeated roots are walked once: a problem under them is reported once", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "sub" / "a.mp4", "testsrc2", 4);
  fs::create_symlink("loop2", tmp / "videos" / "sub" / "loop1");  // stat: ELOOP, a failure each time it is seen
  fs::create_symlink("loop1", tmp / "videos" / "sub" / "loop2");
  const auto db = tmp / "lib.db";
  const std::string v = quote((tmp / "videos").string()), sub = quote((tmp / "videos" / "sub").string());
  const auto s = ingest(v + " " + sub + " " + v + "/ " + sub + db_arg(db) + model_arg(), 3);
  CHECK(s["indexed"] == 1);
  CHECK(s["failed"] == 2);  // loop1 and loop2, once each
  CHECK(sqlite_value(db, "SELECT roots FROM runs") == (tmp / "videos").string());
}
