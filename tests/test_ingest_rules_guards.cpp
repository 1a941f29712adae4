// Issue 26, items 9 to 11: the ingest rules that no test pinned down. A read error in the middle of a
// video (the decoder ends with an error, not a clean end) makes it partial; an empty mount point holding
// an unrelated file of a lost video's size is still offline (the rename rule needs size and mtime); a copy
// of a video whose root is offline is a new video, not a move.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

using namespace xsearch::test;
namespace fs = std::filesystem;

TEST_CASE("a read error in the middle of a video stores it as partial, names the error, and retries it", "[cli][index][video]") {
  TempDir tmp;
  const fs::path video = tmp / "videos" / "bad.mp4";
  fs::create_directories(video.parent_path());
  // Lossless 640x480 (about 10 MB), the index at the front (faststart) and a keyframe every second, so
  // that everything before the bad patch decodes.
  ffmpeg("-f lavfi -i testsrc2=size=640x480:rate=15 -t 20 -c:v libx264 -preset ultrafast -qp 0 -pix_fmt yuv420p -g 15 "
         "-movflags +faststart " + quote(video.string()));
  const auto size = static_cast<int64_t>(fs::file_size(video));
  // The fingerprint reads the first, middle and last megabyte: a bad patch from 30% to 40% of the file
  // lies outside all three once the file passes 3.4 MB, so only the decoder meets it.
  REQUIRE(size > 4 * (1 << 20));
  const std::string patch = std::to_string(size * 3 / 10) + "-" + std::to_string(size * 4 / 10);
  const auto db = tmp / "lib.db";
  const std::string ingest = "ingest " + quote((tmp / "videos").string()) + db_arg(db) + model_arg();
  auto run_with_bad_patch = [&](const std::string& name) {
    const std::string cmd = "env LD_PRELOAD=" + quote(XSEARCH_READ_ERROR_PRELOAD) + " XSEARCH_TEST_READ_ERROR=" +
                            quote(patch + ":" + video.string()) + " " + quote(XSEARCH_BINARY) + " " + ingest + " --json >" +
                            quote((tmp / (name + ".out")).string()) + " 2>" + quote((tmp / (name + ".err")).string());
    const int status = shell_status(cmd);
    INFO(read_file(tmp / (name + ".err")));
    CHECK(status == 3);  // completed, with a file problem
    return nlohmann::json::parse(read_file(tmp / (name + ".out")));
  };
  const auto first = run_with_bad_patch("first");
  CHECK(first["indexed"] == 1);
  CHECK(first["partial"] == 1);
  CHECK(first["failed"] == 0);
  REQUIRE(first["partials"].size() == 1);
  CHECK(first["partials"][0]["path"] == video.string());
  // The reason is the read error itself, not a guess from where the frames stop.
  CHECK_THAT(first["partials"][0]["error"].get<std::string>(), Catch::Contains("read error"));
  CHECK(sqlite_value(db, "SELECT status FROM videos") == "partial");
  // Some clips before the patch (30% of 20 s is 6 s), none of the whole file's, none past the patch.
  const int clips = std::atoi(sqlite_value(db, "SELECT count(*) FROM clips").c_str());
  CHECK(clips >= 1);
  CHECK(std::atof(sqlite_value(db, "SELECT max(end) FROM clips").c_str()) < 10.0);
  // Same size and mtime: a partial video is decoded again, not counted as unchanged.
  const auto again = run_with_bad_patch("again");
  CHECK(again["indexed"] == 1);
  CHECK(again["unchanged"] == 0);
  CHECK(again["partial"] == 1);
  // The disk reads again: the whole video.
  const auto healed = run_json(ingest, 0);
  CHECK(healed["indexed"] == 1);
  CHECK(healed["partial"] == 0);
  CHECK(sqlite_value(db, "SELECT status FROM videos") == "indexed");
}

TEST_CASE("an empty mount point holding an unrelated file of a lost video's size, with another mtime, stays offline", "[cli][index]") {
  TempDir tmp;
  const fs::path mnt = tmp / "mnt";
  make_video(mnt / "a.mp4", "testsrc2", 4);
  make_video(mnt / "b.mp4", "mandelbrot", 4);
  const std::string ingest = "ingest " + quote(mnt.string()) + db_arg(tmp / "lib.db");
  REQUIRE(run_json(ingest + model_arg(), 0)["indexed"] == 2);
  const auto size = fs::file_size(mnt / "a.mp4");
  const auto mtime = fs::last_write_time(mnt / "a.mp4");
  // The drive is away; in its mount point, a file of a.mp4's size that is no video of the library.
  fs::remove_all(mnt);
  fs::create_directory(mnt);
  write_file(mnt / "other.mp4", std::string(size, 'x'));
  fs::last_write_time(mnt / "other.mp4", mtime - std::chrono::hours(1));
  const auto s = run_json(ingest, 3);  // the unrelated file fails: a problem to look at
  CHECK(s["removed"] == 0);
  CHECK(s["moved"] == 0);
  CHECK(s["offline"] == 2);
  REQUIRE(s["offline_roots"].size() == 1);
  CHECK(s["offline_roots"][0]["error"].get<std::string>().find("holds none") != std::string::npos);
  CHECK(sqlite_value(tmp / "lib.db", "SELECT count(*) FROM videos WHERE path LIKE '%/a.mp4' OR path LIKE '%/b.mp4'") == "2");
}

TEST_CASE("a copy of a video whose root is offline is a new video, not a move, and the offline row stays", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "drive" / "trip.mp4", "testsrc2", 4);
  make_video(tmp / "home" / "h.mp4", "smptebars", 4);
  const std::string roots = " " + quote((tmp / "drive").string()) + " " + quote((tmp / "home").string());
  const auto db = tmp / "lib.db";
  REQUIRE(run_json("ingest" + roots + db_arg(db) + model_arg(), 0)["indexed"] == 2);
  // The drive is unplugged after its video was copied home.
  fs::copy_file(tmp / "drive" / "trip.mp4", tmp / "home" / "trip copy.mp4");
  fs::rename(tmp / "drive", tmp / "unplugged");
  const auto s = run_json("ingest" + roots + db_arg(db), 3);  // completed, a root offline
  CHECK(s["indexed"] == 1);
  CHECK(s["moved"] == 0);
  CHECK(s["removed"] == 0);
  CHECK(s["offline"] == 1);
  const std::string original = (tmp / "drive" / "trip.mp4").string();
  CHECK(sqlite_value(db, "SELECT status FROM videos WHERE path = '" + original + "'") == "indexed");
  CHECK(sqlite_value(db, "SELECT count(*) FROM videos") == "3");
}
