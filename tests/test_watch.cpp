// `xsearch watch` with real inotify events (issue 24): the real CLI as a child process on the tiny model,
// each change followed by the pass it causes (one JSON line per pass on stdout). Each case is bounded:
// a pass is awaited for at most kPassWait, and the debounce is short.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

using namespace xsearch::test;
namespace fs = std::filesystem;

namespace {

// A pass on these machines takes a second or two (model load included); 60 s allows for cores shared with
// a parallel test run without letting a hung watch hold the suite.
constexpr double kPassWait = 60;

// How many times `what` occurs in `text` (a note on watch's stderr).
std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

int videos_in(const fs::path& db) { return std::atoi(sqlite_value(db, "SELECT count(*) FROM videos").c_str()); }
std::string video_id(const fs::path& db, const fs::path& path) {
  return sqlite_value(db, "SELECT id FROM videos WHERE path = '" + path.string() + "'");
}

// A running `xsearch watch ROOT... --json`, its stdout and stderr in files; SIGKILLed if a test ends early.
class Watch {
 public:
  Watch(const TempDir& tmp, const std::string& args) : out_(tmp / "watch.out"), err_(tmp / "watch.err") {
    pid_ = spawn_shell("exec " + quote(XSEARCH_BINARY) + " watch " + args + " --json --debounce 1 >" + quote(out_.string()) + " 2>" +
                       quote(err_.string()));
  }
  ~Watch() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // The passes so far.
  std::vector<nlohmann::json> passes() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(read_file(out_));
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  // Waits for pass number `n` (1 = the catch-up) and returns it; fails the test after kPassWait.
  nlohmann::json pass(std::size_t n) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(kPassWait);
    while (std::chrono::steady_clock::now() < until) {
      const auto all = passes();
      if (all.size() >= n) return all[n - 1];
      int raw = 0;
      if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("watch ended early; stderr: " << read_file(err_));
      }
      // Polled: the pass is written by another process; 50 ms keeps the wait short without spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("no pass " << n << " within " << kPassWait << " s; stderr: " << read_file(err_));
    return {};
  }
  // SIGTERM, then its exit.
  ChildEnd stop() {
    ::kill(pid_, SIGTERM);
    const ChildEnd end = wait_child(pid_);
    pid_ = -1;
    return end;
  }
  std::string err() const { return read_file(err_); }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
};

// The debounce (1 s) has passed with no new pass after `n`: nothing more was ingested.
void no_pass_after(Watch& w, std::size_t n) {
  // 3 s: three debounces; a pass that was due would have started within one.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  CHECK(w.passes().size() == n);
}

void copy_in(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  fs::copy_file(from, to);
}

}  // namespace

TEST_CASE("watch catches up at its start, indexes a video copied in, and stops on SIGTERM within 2 s with the library intact", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 2);
  const auto db = tmp / "lib.db";
  REQUIRE(run_json("ingest " + quote(videos.string()) + db_arg(db) + model_arg(), 0)["indexed"] == 1);
  make_video(videos / "while down" / "b.mp4", "mandelbrot", 2);  // added while no watch ran
  make_video(tmp / "staging" / "c.mp4", "smptebars", 2);

  Watch w(tmp, quote(videos.string()) + db_arg(db));
  const auto catch_up = w.pass(1);
  CHECK(catch_up["pass"] == "catch-up");
  CHECK(catch_up["indexed"] == 1);
  CHECK(catch_up["unchanged"] == 1);
  copy_in(tmp / "staging" / "c.mp4", videos / "c.mp4");
  const auto p = w.pass(2);
  CHECK(p["pass"] == "changes");
  CHECK(p["indexed"] == 1);
  CHECK(video_id(db, videos / "c.mp4") != "");
  const ChildEnd end = w.stop();
  CHECK(end.status == 0);
  CHECK(end.seconds < 2.0);
  CHECK(sqlite_value(db, "PRAGMA integrity_check") == "ok");
  CHECK(videos_in(db) == 3);
  CHECK(sqlite_value(db, "SELECT count(*) FROM runs WHERE status = 'running'") == "0");
  // The library answers a query afterwards.
  CHECK(xsearch_run("query 'a test pattern' -k 1" + db_arg(db)).status == 0);
}

TEST_CASE("watch ingests a burst of files in one pass", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  fs::create_directories(videos);
  const char* sources[] = {"testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc"};
  for (int i = 0; i < 5; ++i) make_video(tmp / "staging" / ("v" + std::to_string(i) + ".mp4"), sources[i], 2);
  const auto db = tmp / "lib.db";
  Watch w(tmp, quote(videos.string()) + db_arg(db) + model_arg());
  REQUIRE(w.pass(1)["indexed"] == 0);
  const std::string runs_before = sqlite_value(db, "SELECT count(*) FROM runs");
  for (int i = 0; i < 5; ++i) copy_in(tmp / "staging" / ("v" + std::to_string(i) + ".mp4"), videos / "burst" / ("v" + std::to_string(i) + ".mp4"));
  const auto p = w.pass(2);
  CHECK(p["indexed"] == 5);
  no_pass_after(w, 2);
  CHECK(std::stoi(sqlite_value(db, "SELECT count(*) FROM runs")) == std::stoi(runs_before) + 1);  // one ingest run
  CHECK(w.stop().status == 0);
}

TEST_CASE("watch loads the model once and reuses it for every later pass", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  fs::create_directories(videos);
  make_video(tmp / "staging" / "a.mp4", "testsrc2", 2);
  make_video(tmp / "staging" / "b.mp4", "mandelbrot", 2);
  const auto db = tmp / "lib.db";
  Watch w(tmp, quote(videos.string()) + db_arg(db) + model_arg());
  REQUIRE(w.pass(1)["indexed"] == 0);
  // Nothing to embed at the catch-up: no model loaded yet (its note comes before the pass's line).
  CHECK(occurrences(w.err(), "loaded the model") == 0);
  copy_in(tmp / "staging" / "a.mp4", videos / "a.mp4");
  CHECK(w.pass(2)["indexed"] == 1);
  copy_in(tmp / "staging" / "b.mp4", videos / "later" / "b.mp4");
  CHECK(w.pass(3)["indexed"] == 1);
  CHECK(videos_in(db) == 2);
  CHECK(video_id(db, videos / "later" / "b.mp4") != "");
  CHECK(w.stop().status == 0);
  // One load, said once on stderr, for three passes (each pass used to load the model again).
  const std::string err = w.err();
  INFO(err);
  CHECK(occurrences(err, "loaded the model") == 1);
  // The library answers a query with the clips those passes embedded.
  CHECK(xsearch_run("query 'a test pattern' -k 2" + db_arg(db)).status == 0);
}

TEST_CASE("watch lets go of the model after --keep-model seconds without a pass and loads it again for the next", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  fs::create_directories(videos);
  make_video(tmp / "staging" / "a.mp4", "testsrc2", 2);
  make_video(tmp / "staging" / "b.mp4", "mandelbrot", 2);
  const auto db = tmp / "lib.db";
  Watch w(tmp, quote(videos.string()) + db_arg(db) + model_arg() + " --keep-model 1");
  REQUIRE(w.pass(1)["indexed"] == 0);
  copy_in(tmp / "staging" / "a.mp4", videos / "a.mp4");
  CHECK(w.pass(2)["indexed"] == 1);
  // Whether the catch-up's model was let go before pass 2 depends on timing; what follows pass 2 does not.
  const std::size_t lets_before = occurrences(w.err(), "let go of the model"), loads_before = occurrences(w.err(), "loaded the model");
  REQUIRE(loads_before >= 1);
  // The note comes 1 s after pass 2; kPassWait bounds the wait as it bounds a pass.
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(kPassWait);
  while (occurrences(w.err(), "let go of the model") == lets_before && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polled: another process writes it
  REQUIRE(occurrences(w.err(), "let go of the model") == lets_before + 1);
  copy_in(tmp / "staging" / "b.mp4", videos / "b.mp4");
  CHECK(w.pass(3)["indexed"] == 1);
  // Pass 3 loaded the model again.
  const std::string err = w.err();
  INFO(err);
  CHECK(occurrences(err, "loaded the model") == loads_before + 1);
  CHECK(w.stop().status == 0);
  CHECK(videos_in(db) == 2);
}

TEST_CASE("watch refuses a negative --keep-model", "[cli][watch]") {
  TempDir tmp;
  const auto r = xsearch_run("watch " + quote(tmp.path().string()) + " --keep-model -1" + db_arg(tmp / "lib.db"));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("--keep-model"));
}

TEST_CASE("watch takes a rename inside the root as a move: the same video id and clips, nothing embedded again", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  make_video(videos / "trip" / "a.mp4", "testsrc2", 2);
  make_video(videos / "trip" / "b.mp4", "mandelbrot", 2);
  const auto db = tmp / "lib.db";
  REQUIRE(run_json("ingest " + quote(videos.string()) + db_arg(db) + model_arg(), 0)["indexed"] == 2);
  const std::string id = video_id(db, videos / "trip" / "a.mp4");
  const std::string clips = sqlite_value(db, "SELECT group_concat(id) FROM clips WHERE video_id = " + id);
  Watch w(tmp, quote(videos.string()) + db_arg(db));
  REQUIRE(w.pass(1)["unchanged"] == 2);
  fs::rename(videos / "trip" / "a.mp4", videos / "trip" / "renamed.mp4");
  const auto p = w.pass(2);
  CHECK(p["moved"] == 1);
  CHECK(p["indexed"] == 0);
  CHECK(p["removed"] == 0);
  CHECK(video_id(db, videos / "trip" / "renamed.mp4") == id);
  CHECK(sqlite_value(db, "SELECT group_concat(id) FROM clips WHERE video_id = " + id) == clips);
  CHECK(w.stop().status == 0);
}

TEST_CASE("watch indexes a folder moved in from outside the root, the files in its subfolders included", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  fs::create_directories(videos);
  make_video(tmp / "elsewhere" / "trip" / "a.mp4", "testsrc2", 2);
  make_video(tmp / "elsewhere" / "trip" / "day2" / "b.mp4", "mandelbrot", 2);
  const auto db = tmp / "lib.db";
  Watch w(tmp, quote(videos.string()) + db_arg(db) + model_arg());
  REQUIRE(w.pass(1)["indexed"] == 0);
  fs::rename(tmp / "elsewhere" / "trip", videos / "trip");
  const auto p = w.pass(2);
  CHECK(p["indexed"] == 2);
  CHECK(video_id(db, videos / "trip" / "day2" / "b.mp4") != "");
  // The moved-in folder is watched: a file added in it later is seen.
  make_video(tmp / "staging" / "c.mp4", "smptebars", 2);
  copy_in(tmp / "staging" / "c.mp4", videos / "trip" / "day2" / "c.mp4");
  CHECK(w.pass(3)["indexed"] == 1);
  CHECK(w.stop().status == 0);
}

TEST_CASE("watch removes a deleted video only on proof: gone from a listed folder yes, an emptied folder kept as offline", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 2);
  make_video(videos / "b.mp4", "mandelbrot", 2);
  make_video(videos / "usb" / "c.mp4", "smptebars", 2);
  const auto db = tmp / "lib.db";
  REQUIRE(run_json("ingest " + quote(videos.string()) + db_arg(db) + model_arg(), 0)["indexed"] == 3);
  Watch w(tmp, quote(videos.string()) + db_arg(db));
  REQUIRE(w.pass(1)["unchanged"] == 3);
  fs::remove(videos / "b.mp4");  // its folder still lists a.mp4: proof
  const auto p = w.pass(2);
  CHECK(p["removed"] == 1);
  CHECK(video_id(db, videos / "b.mp4") == "");
  // The only video of a folder, which is now empty: what an empty mount point looks like; kept, as ingest does.
  fs::remove(videos / "usb" / "c.mp4");
  const auto q = w.pass(3);
  CHECK(q["removed"] == 0);
  CHECK(q["offline"] == 1);
  CHECK(video_id(db, videos / "usb" / "c.mp4") != "");
  CHECK(w.stop().status == 0);
}

TEST_CASE("watch --exclude leaves an excluded folder out, remembered for later ingests", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  fs::create_directories(videos / "Holiday 2024");
  make_video(tmp / "staging" / "a.mp4", "testsrc2", 2);
  make_video(tmp / "staging" / "b.mp4", "mandelbrot", 2);
  const auto db = tmp / "lib.db";
  Watch w(tmp, quote(videos.string()) + db_arg(db) + model_arg() + " --exclude 'Holiday 2024/**'");
  REQUIRE(w.pass(1)["indexed"] == 0);
  copy_in(tmp / "staging" / "a.mp4", videos / "Holiday 2024" / "a.mp4");
  copy_in(tmp / "staging" / "b.mp4", videos / "keep" / "b.mp4");
  const auto p = w.pass(2);
  CHECK(p["indexed"] == 1);
  CHECK(video_id(db, videos / "keep" / "b.mp4") != "");
  CHECK(video_id(db, videos / "Holiday 2024" / "a.mp4") == "");
  CHECK(w.stop().status == 0);
  CHECK(run_json("ingest " + quote(videos.string()) + db_arg(db), 0)["indexed"] == 0);  // remembered
}

TEST_CASE("watch leaves the writer lock free between passes: an ingest runs while it watches", "[cli][watch]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 2);
  make_video(tmp / "other" / "b.mp4", "mandelbrot", 2);
  const auto db = tmp / "lib.db";
  Watch w(tmp, quote(videos.string()) + db_arg(db) + model_arg());
  REQUIRE(w.pass(1)["indexed"] == 1);
  const Result r = xsearch_run("ingest " + quote((tmp / "other").string()) + db_arg(db) + " --no-wait --json");
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(videos_in(db) == 2);
  CHECK(w.stop().status == 0);
}
