// Stop requests (SIGINT, SIGTERM) reach every long step of an ingest: the walk, the plan, the end of the
// last batch (nothing is swept after a stop), and a real ingest stops within 2 s of the signal in each.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"
#include "pipeline/ingest/plan.hpp"
#include "pipeline/ingest/walk.hpp"
#include "xsearch/ingest.hpp"

using namespace xsearch;
using namespace xsearch::test;
namespace fs = std::filesystem;

namespace {

// `n` files of `bytes` random bytes: not videos, with no extension to say so, so each costs the walk a
// probe (FFmpeg's probe reads up to 64 KB; about 3 ms for 64 KB of noise on this machine).
void make_unknown_files(const fs::path& dir, int n, std::size_t bytes = 200) {
  fs::create_directories(dir);
  std::mt19937 rng(5);
  std::string noise(bytes, '\0');
  for (int i = 0; i < n; ++i) {
    for (char& c : noise) c = static_cast<char>(rng());
    write_file(dir / ("f" + std::to_string(i)), noise);
  }
}

// Says stop once it has been asked `after` times.
struct StopAfter {
  int after;
  int asked = 0;
  bool operator()() { return ++asked > after; }
};

}  // namespace

TEST_CASE("the walk ends at a stop request and says it stopped", "[index]") {
  TempDir tmp;
  make_unknown_files(tmp / "videos", 50);
  make_video(tmp / "videos" / "z.mp4", "testsrc2", 1);
  StopAfter stop{10};
  const auto walk = pipeline::find_videos({(tmp / "videos").string()}, false, {}, [](const std::string&, const std::string&) {},
                                          std::ref(stop));
  CHECK(walk.stopped);
  CHECK(walk.files.empty());  // z.mp4, the last name, was never reached
  CHECK(stop.asked == 11);    // asked once more, and nothing was looked at after it said stop
  const auto full = pipeline::find_videos({(tmp / "videos").string()}, false, {}, [](const std::string&, const std::string&) {});
  CHECK_FALSE(full.stopped);
  CHECK(full.files.size() == 1);
}

TEST_CASE("the plan ends at a stop request before the next fingerprint", "[index]") {
  TempDir tmp;
  std::vector<pipeline::FoundFile> found;
  for (int i = 0; i < 3; ++i) {
    const fs::path p = tmp / ("v" + std::to_string(i) + ".mp4");
    write_file(p, std::string(1000 + i, 'v'));
    found.push_back({p.string(), 1000 + i, 1, 1});
  }
  Library library = Library::open(tmp / "lib.db", true);
  IngestReport report;
  const IngestObserver observer;
  const pipeline::Reporter reporter(observer, report);
  const pipeline::WalkResult walk;
  const std::vector<std::string> roots = {tmp.path().string()};
  const pipeline::Presence presence(walk, roots, library.videos());
  StopAfter stop{1};
  const auto plan = pipeline::plan_ingest(library, found, roots, presence, reporter, std::ref(stop));
  CHECK(plan.stopped);
  CHECK(plan.jobs.size() == 1);
}

TEST_CASE("a stop request that arrives with the last batch leaves nothing swept", "[index]") {
  // The old order polled only while messages came from the decoder: a signal during the last batch
  // (embedded after the decoder has finished) was followed by the sweep all the same.
  TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  make_video(tmp / "videos" / "b.mp4", "mandelbrot", 4);
  IngestOptions o;
  o.roots = {tmp / "videos"};
  o.db = tmp / "lib.db";
  o.model_dir = fixtures_dir() / "xclip-tiny-full";
  o.device = "cpu";
  o.threads = 1;
  o.batch = 64;  // every clip waits for the batch after the loop
  REQUIRE(ingest(o, {}).summary.indexed == 2);

  fs::remove(tmp / "videos" / "b.mp4");
  make_video(tmp / "videos" / "c.mp4", "smptebars", 4);
  std::atomic<int> stop{0};
  o.stop_requested = [&] { return stop.load(); };
  IngestObserver observer;
  // Ctrl-C as the last video is committed, i.e. during the last batch.
  observer.on_progress = [&](const IngestProgress& p) {
    if (p.files_total > 0 && p.files_done == p.files_total) stop = SIGINT;
  };
  const IngestReport r = ingest(o, observer);
  CHECK(r.interrupted == SIGINT);
  CHECK(r.summary.indexed == 1);  // c.mp4, committed before the stop
  CHECK(r.summary.removed == 0);  // b.mp4 is not swept by an interrupted run
  CHECK(sqlite_value(o.db, "SELECT count(*) FROM videos") == "3");
  CHECK(sqlite_value(o.db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == "interrupted");
}

TEST_CASE("SIGINT during a long walk stops the ingest within 2 s", "[cli][index]") {
  TempDir tmp;
  make_unknown_files(tmp / "videos" / "many", 2000, 64 * 1024);  // about 6 s of probing on this machine
  make_video(tmp / "videos" / "zz.mp4", "testsrc2", 4);
  const auto db = tmp / "lib.db";
  const pid_t pid = spawn_shell("exec " + quote(XSEARCH_BINARY) + " ingest " + quote((tmp / "videos").string()) + " --db " +
                                quote(db.string()) + model_arg() + " --json >" + quote((tmp / "out").string()) + " 2>" +
                                quote((tmp / "err").string()));
  // Signal it once the run has begun (its row exists), i.e. during the walk.
  for (int i = 0; i < 1000; ++i) {
    if (fs::exists(db) && sqlite_value(db, "SELECT count(*) FROM runs") == "1") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(::kill(pid, SIGINT) == 0);
  const ChildEnd end = wait_child(pid);
  INFO(read_file(tmp / "err"));
  WARN("stopped " << end.seconds << " s after SIGINT during the walk");
  CHECK(end.status == 130);
  CHECK(end.seconds < 2.0);
  CHECK(nlohmann::json::parse(read_file(tmp / "out"))["interrupted"] == true);
  CHECK(sqlite_value(db, "SELECT count(*) FROM videos") == "0");
  CHECK(sqlite_value(db, "SELECT status FROM runs") == "interrupted");
}
