// Nothing lost, nothing stale: what ingest does when roots vanish or cannot be read, when files cannot be
// checked, when it is interrupted, and how it records its model; failed writes to stdout.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

using namespace xsearch;
using namespace xsearch::test;
namespace fs = std::filesystem;

TEST_CASE("a root that has vanished is offline: its videos stay, it is named, counted, and the status says so", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "phone" / "p1.mp4", "testsrc2", 4);
  make_video(tmp / "phone" / "p2.mp4", "mandelbrot", 4);
  make_video(tmp / "home" / "h.mp4", "smptebars", 4);
  const std::string roots = " " + quote((tmp / "phone").string()) + " " + quote((tmp / "home").string());
  const std::string db = db_arg(tmp / "lib.db");
  REQUIRE(run_json("ingest" + roots + db + model_arg(), 0)["indexed"] == 3);

  fs::rename(tmp / "phone", tmp / "unplugged");
  const Result r = xsearch_run("ingest" + roots + db + " --json");
  INFO(r.err);
  CHECK(r.status == 3);  // completed, with a problem to look at
  CHECK_THAT(r.err, Catch::Contains((tmp / "phone").string() + ": offline"));
  const auto s = nlohmann::json::parse(r.out);
  CHECK(s["removed"] == 0);
  CHECK(s["offline"] == 2);
  REQUIRE(s["offline_roots"].size() == 1);
  CHECK(s["offline_roots"][0]["path"] == (tmp / "phone").string());
  CHECK(run_json("info" + db, 0)["videos"] == 3);

  // Back again: nothing to do.
  fs::rename(tmp / "unplugged", tmp / "phone");
  const auto back = run_json("ingest" + roots + db, 0);
  CHECK(back["unchanged"] == 3);
  CHECK(back["indexed"] == 0);

  // Gone for good: the user says so, and the status says the run did what was asked.
  fs::remove_all(tmp / "phone");
  const auto pruned = run_json("ingest" + roots + db + " --prune-offline", 0);
  CHECK(pruned["removed"] == 2);
  CHECK(pruned["offline_pruned"] == true);
  CHECK(run_json("info" + db, 0)["videos"] == 1);
}

TEST_CASE("an empty folder where a mount used to be is offline, not a deletion", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "mnt" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "mnt" / "sub" / "b.mp4", "mandelbrot", 4);
  const std::string db = db_arg(tmp / "lib.db");
  const std::string ingest = "ingest " + quote((tmp / "mnt").string()) + db;
  REQUIRE(run_json(ingest + model_arg(), 0)["indexed"] == 2);
  // What an unmounted drive leaves: the mount point, empty.
  fs::remove_all(tmp / "mnt");
  fs::create_directory(tmp / "mnt");
  const auto s = run_json(ingest, 3);
  CHECK(s["removed"] == 0);
  CHECK(s["offline"] == 2);
  CHECK(s["offline_roots"][0]["error"].get<std::string>().find("holds none") != std::string::npos);
  CHECK(run_json("info" + db, 0)["videos"] == 2);
  // One video still there: the root is online, and the other video is proven gone.
  make_video(tmp / "mnt" / "a.mp4", "testsrc2", 4);
  const auto online = run_json(ingest, 0);
  CHECK(online["removed"] == 1);
  CHECK(online["offline"] == 0);
}

TEST_CASE("an unreadable subfolder is a failure, and the videos under it stay", "[cli][index]") {
  // Root reads every folder whatever its mode, so the ingests run as nobody (setpriv), for whom a folder
  // of mode 000 cannot be listed: a real EACCES from opendir.
  TempDir tmp;
  fs::permissions(tmp.path(), fs::perms::all);
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "locked" / "b.mp4", "mandelbrot", 4);
  for (const auto& d : {tmp / "videos", tmp / "videos" / "locked"}) fs::permissions(d, fs::perms::all);
  const auto as_nobody = [&](const std::string& args) {
    const std::string cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups -- " + quote(XSEARCH_BINARY) + " " + args +
                            " >" + quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
    const int raw = std::system(cmd.c_str());
    Result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = read_file(tmp / "out");
    r.err = read_file(tmp / "err");
    return r;
  };
  const std::string ingest = "ingest " + quote((tmp / "videos").string()) + db_arg(tmp / "lib.db") + model_arg() + " --json";
  Result r = as_nobody(ingest);
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE(nlohmann::json::parse(r.out)["indexed"] == 2);

  fs::permissions(tmp / "videos" / "locked", fs::perms::none);
  r = as_nobody(ingest);
  fs::permissions(tmp / "videos" / "locked", fs::perms::all);  // so that the folder can be cleaned up
  INFO(r.err);
  CHECK(r.status == 3);
  CHECK_THAT(r.err, Catch::Contains((tmp / "videos" / "locked").string() + ": Permission denied"));
  const auto s = nlohmann::json::parse(r.out);
  CHECK(s["removed"] == 0);
  CHECK(s["failed"] == 1);
  CHECK(s["failures"][0]["path"] == (tmp / "videos" / "locked").string());
  CHECK(sqlite_value(tmp / "lib.db", "SELECT count(*) FROM videos") == "2");
}

TEST_CASE("a video that cannot be checked (a symlink loop in its place) is a failure, never a deletion", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "b.mp4", "mandelbrot", 4);
  const std::string ingest = "ingest " + quote((tmp / "videos").string()) + db_arg(tmp / "lib.db");
  REQUIRE(run_json(ingest + model_arg(), 0)["indexed"] == 2);
  // stat() of b.mp4 now fails with ELOOP: the file may well be there behind it.
  fs::remove(tmp / "videos" / "b.mp4");
  fs::create_symlink("loop2", tmp / "videos" / "b.mp4");
  fs::create_symlink("b.mp4", tmp / "videos" / "loop2");
  const Result r = xsearch_run(ingest + " --json");
  INFO(r.err);
  CHECK(r.status == 3);
  CHECK_THAT(r.err, Catch::Contains((tmp / "videos" / "b.mp4").string() + ": Too many levels of symbolic links"));
  const auto s = nlohmann::json::parse(r.out);
  CHECK(s["removed"] == 0);
  CHECK(s["failed"].get<int>() >= 1);
  CHECK(sqlite_value(tmp / "lib.db", "SELECT count(*) FROM videos") == "2");
}

TEST_CASE("ingesting one of two roots never sweeps the other, even one whose name extends it", "[cli][index]") {
  // "one2" starts with "one": a root test by string prefix alone would take one2/b.mp4 as under "one".
  TempDir tmp;
  make_video(tmp / "one" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "one" / "kept.mp4", "rgbtestsrc", 4);
  make_video(tmp / "one2" / "b.mp4", "mandelbrot", 4);
  const std::string db = db_arg(tmp / "lib.db");
  REQUIRE(run_json("ingest " + quote((tmp / "one").string()) + " " + quote((tmp / "one2").string()) + db + model_arg(), 0)["indexed"] == 3);
  fs::remove(tmp / "one" / "a.mp4");
  make_video(tmp / "one" / "c.mp4", "smptebars", 4);
  const auto s = run_json("ingest " + quote((tmp / "one").string()) + db, 0);
  CHECK(s["indexed"] == 1);
  CHECK(s["removed"] == 1);  // a.mp4, proven gone from a root that is there
  CHECK(s["offline"] == 0);  // one2 is not this run's: neither judged nor reported
  CHECK(sqlite_value(tmp / "lib.db", "SELECT group_concat(path, ' ') FROM videos ORDER BY path").find("one2/b.mp4") != std::string::npos);
  CHECK(run_json("info" + db, 0)["videos"] == 3);
}

TEST_CASE("a relative --model is recorded as an absolute path, so a query from another folder works", "[cli][index]") {
  TempDir tmp;
  fs::copy(fixtures_dir() / "xclip-tiny-full", tmp / "m", fs::copy_options::recursive);
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  const std::string cmd = "cd " + quote(tmp.path().string()) + " && " + quote(XSEARCH_BINARY) +
                          " ingest videos --db lib.db --model ./m --quiet";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto info = run_json("info" + db_arg(tmp / "lib.db"), 0);
  CHECK(info["model"] == (tmp / "m").string());
  const std::string query = "cd / && " + quote(XSEARCH_BINARY) + " query 'a test pattern' --json" + db_arg(tmp / "lib.db") +
                            " >" + quote((tmp / "q.json").string()) + " 2>" + quote((tmp / "q.err").string());
  const int raw = std::system(query.c_str());
  INFO(read_file(tmp / "q.err"));
  REQUIRE(WEXITSTATUS(raw) == 0);
  CHECK(nlohmann::json::parse(read_file(tmp / "q.json"))["results"].size() == 1);
}

TEST_CASE("a failed write to stdout (a full disk) is an error for every command that prints", "[cli]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  const std::string db = db_arg(tmp / "lib.db");
  REQUIRE(run_json("ingest " + quote((tmp / "videos").string()) + db + model_arg(), 0)["indexed"] == 1);
  const std::string video = quote((tmp / "videos" / "a.mp4").string());
  for (const std::string& args : {"info" + db, "info --json" + db, "query pattern" + db, "query pattern --json" + db,
                                  "export" + db, "export --json" + db, "ingest " + quote((tmp / "videos").string()) + db + " --json",
                                  "ingest " + quote((tmp / "videos").string()) + db, "dev clips " + video,
                                  "classify " + video + " --labels a,b" + model_arg()}) {
    INFO(args);
    const std::string cmd = quote(XSEARCH_BINARY) + " " + args + " >/dev/full 2>" + quote((tmp / "err").string());
    const int raw = std::system(cmd.c_str());
    CHECK(WEXITSTATUS(raw) == 2);
    CHECK_THAT(read_file(tmp / "err"), Catch::Contains("stdout: No space left on device"));
  }
}

TEST_CASE("SIGINT and SIGTERM stop an ingest within 2 s, and a normal ingest then finishes the library", "[cli][index]") {
  TempDir tmp;
  const char* sources[] = {"testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc", "yuvtestsrc"};
  for (int i = 0; i < 12; ++i) make_video(tmp / "videos" / ("v" + std::to_string(i) + ".mp4"), sources[i % 6], 12);
  for (const int sig : {SIGINT, SIGTERM}) {
    INFO("signal " << sig);
    const auto db = tmp / ("lib" + std::to_string(sig) + ".db");
    // One model thread: with two OpenMP threads on cores that other processes keep busy (this machine runs
    // several builds at once), a batch of two clips of the tiny model takes up to 1.6 s: the batch in
    // flight, not the stop, would decide the time measured (README, Interrupts).
    const std::string ingest = "ingest " + quote((tmp / "videos").string()) + db_arg(db) + model_arg() + " --batch 2 --threads 1";
    const pid_t pid = spawn_shell("exec " + quote(XSEARCH_BINARY) + " " + ingest + " --json >" + quote((tmp / "out").string()) +
                                  " 2>" + quote((tmp / "err").string()));
    // Signal it once some videos are committed and others are not.
    for (int i = 0; i < 1000; ++i) {
      if (fs::exists(db) && std::atoi(sqlite_value(db, "SELECT count(*) FROM videos").c_str()) >= 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(::kill(pid, sig) == 0);
    const ChildEnd end = wait_child(pid);
    INFO(read_file(tmp / "err"));
    WARN("stopped " << end.seconds << " s after signal " << sig);
    CHECK(end.status == 128 + sig);  // 130, 143
    CHECK(end.seconds < 2.0);        // the bound
    const auto summary = nlohmann::json::parse(read_file(tmp / "out"));
    CHECK(summary["interrupted"] == true);
    const int committed = std::atoi(sqlite_value(db, "SELECT count(*) FROM videos").c_str());
    CHECK(committed == summary["indexed"].get<int>());  // nothing half-written beyond what it reported
    CHECK(committed < 12);
    CHECK(sqlite_value(db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == "interrupted");
    CHECK(sqlite_value(db, "SELECT count(*) FROM (SELECT video_id FROM clips GROUP BY video_id HAVING count(*) != 3)") == "0");
    CHECK(temp_files_under(tmp.path()) == 0);

    const auto s = run_json(ingest, 0);
    CHECK(s["indexed"].get<int>() == 12 - committed);
    CHECK(s["unchanged"].get<int>() == committed);
    CHECK(sqlite_value(db, "PRAGMA integrity_check") == "ok");
    CHECK(sqlite_value(db, "SELECT count(*) FROM videos") == "12");
    CHECK(sqlite_value(db, "SELECT count(*) FROM clips") == "36");  // 12 s: three 4 s clips each
    CHECK(sqlite_value(db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == "done");
    CHECK(temp_files_under(tmp.path()) == 0);
  }
}
