// What an ingest leaves behind on the way out: its exit status when stdout is a closed pipe, its row in
// `runs` on every exit path (an error after decoding, a process killed outright), and a file that cannot
// be read while it is fingerprinted.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

using namespace xsearch::test;
namespace fs = std::filesystem;

namespace {

// The nice value of every thread of process `pid` (from /proc/PID/task/*/stat, field 19).
std::vector<int> thread_nice_values(pid_t pid) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    const std::string stat = read_file(task.path() / "stat");
    const std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));  // from field 3 (state) on
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i)
      if (i == 19) out.push_back(std::stoi(field));
  }
  return out;
}

}  // namespace

TEST_CASE("ingest keeps its own exit status when the reader of its stdout has gone", "[cli]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  write_file(tmp / "videos" / "broken.mp4", "not a video at all");
  auto ingest = [&](const std::string& db) {
    return quote(XSEARCH_BINARY) + " ingest " + quote((tmp / "videos").string()) + db_arg(tmp / db) + model_arg();
  };
  // `| true` closes the pipe at once: every write to it fails with EPIPE. bash reports the status of the
  // pipeline's first command.
  auto through_closed_pipe = [&](const std::string& args) {
    return shell_status("bash -c " + quote(args + " 2>/dev/null | true; exit ${PIPESTATUS[0]}"));
  };
  CHECK(through_closed_pipe(ingest("json.db") + " --json") == 3);  // broken.mp4 failed
  CHECK(through_closed_pipe(ingest("text.db")) == 3);              // the text summary too
  fs::remove(tmp / "videos" / "broken.mp4");
  CHECK(through_closed_pipe(ingest("lib.db")) == 0);  // nothing wrong: 0, as before
  CHECK(through_closed_pipe(quote(XSEARCH_BINARY) + " export" + db_arg(tmp / "lib.db")) == 0);  // other commands: quietly 0
}

TEST_CASE("an error after the decoding records the run as failed", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  // The index cannot be renamed into place: a folder holds its name. The error comes after every video
  // is committed, when the index is written.
  fs::create_directories(tmp / "lib.index" / "in-the-way");
  const Result r = xsearch_run("ingest " + quote((tmp / "videos").string()) + db_arg(tmp / "lib.db") + model_arg());
  INFO(r.err);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("lib.index"));
  CHECK(sqlite_value(tmp / "lib.db", "SELECT status FROM runs") == "failed");
  CHECK(sqlite_value(tmp / "lib.db", "SELECT indexed FROM runs") == "1");  // with what it had done
}

TEST_CASE("a run left 'running' by a killed ingest is marked interrupted by the next writer", "[cli][index]") {
  TempDir tmp;
  const char* sources[] = {"testsrc2", "mandelbrot", "smptebars", "rgbtestsrc"};
  for (int i = 0; i < 8; ++i) make_video(tmp / "videos" / ("v" + std::to_string(i) + ".mp4"), sources[i % 4], 12);
  const auto db = tmp / "lib.db";
  const pid_t pid = spawn_shell("exec " + quote(XSEARCH_BINARY) + " ingest " + quote((tmp / "videos").string()) + db_arg(db) +
                                model_arg() + " --batch 1 >/dev/null 2>&1");
  for (int i = 0; i < 1000; ++i) {
    if (fs::exists(db) && std::atoi(sqlite_value(db, "SELECT count(*) FROM videos").c_str()) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Killed outright (as a second Ctrl-C ends it): nothing can be written on the way out.
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(wait_child(pid).status == 128 + SIGKILL);
  REQUIRE(sqlite_value(db, "SELECT status FROM runs") == "running");
  // Read-only commands never write: still running for them.
  REQUIRE(xsearch_run("info" + db_arg(db)).status == 0);
  CHECK(sqlite_value(db, "SELECT status FROM runs") == "running");
  // The next writer holds the writer lock: no one else runs, so that run is over.
  REQUIRE(xsearch_run("reindex" + db_arg(db)).status == 0);
  CHECK(sqlite_value(db, "SELECT status FROM runs") == "interrupted");
  CHECK(sqlite_value(db, "SELECT finished_at IS NOT NULL FROM runs") == "1");
}

TEST_CASE("a read error while a video is fingerprinted is a failure of that file, never a digest of part of it", "[cli][index]") {
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "b.mp4", "mandelbrot", 4);
  const fs::path bad = tmp / "videos" / "b.mp4";
  REQUIRE(fs::file_size(bad) > 10000);
  const std::string ingest = "ingest " + quote((tmp / "videos").string()) + db_arg(tmp / "lib.db") + " --json";
  // The disk fails at byte 10000 of b.mp4.
  const std::string cmd = "env LD_PRELOAD=" + quote(XSEARCH_READ_ERROR_PRELOAD) + " XSEARCH_TEST_READ_ERROR=" +
                          quote("10000:" + bad.string()) + " " + quote(XSEARCH_BINARY) + " " + ingest + model_arg() + " >" +
                          quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
  const int status = shell_status(cmd);
  const std::string err = read_file(tmp / "err");
  INFO(err);
  CHECK(status == 3);
  const auto s = nlohmann::json::parse(read_file(tmp / "out"));
  CHECK(s["indexed"] == 1);
  CHECK(s["failed"] == 1);
  REQUIRE(s["failures"].size() == 1);
  CHECK(s["failures"][0]["path"] == bad.string());
  CHECK_THAT(s["failures"][0]["error"].get<std::string>(), Catch::Contains("read error at byte 10000 (Input/output error)"));
  // Nothing stored for it: no fingerprint of the first 10000 bytes, no clips; the next run tries again.
  CHECK(sqlite_value(tmp / "lib.db", "SELECT count(*) FROM videos WHERE path = " + quote(bad.string())) == "0");
  const auto again = run_json(ingest, 0);
  CHECK(again["indexed"] == 1);
  CHECK(again["unchanged"] == 1);
}

TEST_CASE("an ingest runs at background CPU priority (nice +10) in every thread, unless --normal-priority", "[cli]") {
  TempDir tmp;
  const char* sources[] = {"testsrc2", "mandelbrot", "smptebars", "rgbtestsrc"};
  for (int i = 0; i < 8; ++i) make_video(tmp / "videos" / ("v" + std::to_string(i) + ".mp4"), sources[i % 4], 12);
  const int own = ::getpriority(PRIO_PROCESS, 0);
  for (const bool normal : {false, true}) {
    INFO("--normal-priority: " << normal);
    const auto db = tmp / (normal ? "normal.db" : "background.db");
    const pid_t pid = spawn_shell("exec " + quote(XSEARCH_BINARY) + " ingest " + quote((tmp / "videos").string()) + db_arg(db) +
                                  model_arg() + " --batch 1" + (normal ? " --normal-priority" : "") + " >/dev/null 2>&1");
    // Once a video is committed, the model's and the decoder's threads are running.
    for (int i = 0; i < 1000; ++i) {
      if (fs::exists(db) && std::atoi(sqlite_value(db, "SELECT count(*) FROM videos").c_str()) >= 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const std::vector<int> nice = thread_nice_values(pid);
    ::kill(pid, SIGKILL);
    wait_child(pid);
    REQUIRE(nice.size() >= 2);  // the main thread and at least the decoder
    for (const int n : nice) CHECK(n == std::min(19, own + (normal ? 0 : 10)));
  }
}
