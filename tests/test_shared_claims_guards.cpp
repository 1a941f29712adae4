// Issue 26, items 4 and 5, on a real PostgreSQL server (pg_server.hpp): `info` counts live claims only,
// and a file that turns out not to be a video leaves no pending row behind in a shared ingest.
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_backends.hpp"
#include "library_helpers.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

TEST_CASE("info counts a shared library's live claims only: 1 while held, 0 once the lease has lapsed", "[cli][postgres]") {
  test::TempDir tmp;
  const std::string db = test::new_library("postgres", tmp.path());
  // The lease info judges workers by; claims carry their own expiry (2 s below).
  test::ScopedEnv lease("XSEARCH_LEASE_SECONDS", "2");
  Library holder = Library::open(db, true);
  holder.claim_model({"m", "fp", 4});
  holder.begin_work(2);
  REQUIRE(holder.claim_video("/v/held.mp4", "fp-held", 1, 0) == Library::Claim::Mine);
  const auto held = test::run_json("info --db " + test::quote(db), 0);
  CHECK(held["work"]["claimed"] == 1);
  CHECK(held["work"]["pending"] == 0);
  // The holder stops renewing. Bounded wait for the lease to lapse in server time (2 s, rounded to whole
  // seconds, so 3 s at most; 15 s leaves room on a loaded machine).
  Library reader = Library::open(db, false);
  for (int i = 0; i < 150 && reader.work_status().claimed != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The lapsed claim is still in the table (nobody took it over): only its expiry makes it not count.
  CHECK(test::sql_value(db, "SELECT count(*) FROM claims") == "1");
  const auto lapsed = test::run_json("info --db " + test::quote(db), 0);
  CHECK(lapsed["work"]["claimed"] == 0);
  holder.end_work("done");
}

TEST_CASE("a shared ingest of files that turn out not to be videos (audio, a still image named .mp4) leaves nothing pending", "[cli][postgres]") {
  test::TempDir tmp;
  ::setenv("XDG_CACHE_HOME", (tmp / "cache").c_str(), 1);
  const fs::path videos = tmp / "videos";
  test::make_video(videos / "good.mp4", "testsrc", 3);
  test::ffmpeg("-f lavfi -i sine=frequency=440:duration=2 -c:a aac " + test::quote((videos / "audio.mp4").string()));
  // A PNG under a video's name: taken as a video by its name, found to be an image when decoded.
  test::ffmpeg("-f lavfi -i color=red:size=64x64 -frames:v 1 -f image2 -c:v png " + test::quote((videos / "still.mp4").string()));
  const std::string db = test::new_library("postgres", tmp.path());
  const auto r = test::xsearch_run("ingest " + test::quote(videos.string()) + " --db " + test::quote(db) + test::model_arg() + " --json");
  INFO(r.err);
  const auto out = nlohmann::json::parse(r.out);
  CHECK(out["indexed"] == 1);
  CHECK(out["not_video"] == 2);
  // Both planned as work (pending) before they were decoded; settled as no work at all once found not
  // to be videos.
  CHECK(test::sql_value(db, "SELECT count(*) FROM pending") == "0");
  CHECK(test::sql_value(db, "SELECT count(*) FROM claims") == "0");
  const auto info = test::run_json("info --db " + test::quote(db), 0);
  CHECK(info["work"]["pending"] == 0);
  CHECK(info["work"]["claimed"] == 0);
}

TEST_CASE("shared work tables: a claimed path is not pending, a partial video is claimed again, a worker that ends frees its claims", "[postgres]") {
  test::TempDir tmp;
  ::setenv("XDG_CACHE_HOME", (tmp / "cache").c_str(), 1);
  const std::string db = test::new_library("postgres", tmp.path());
  {
    // A video stored as partial (a read error midway): the next worker must decode it again.
    Library writer = Library::open(db, true);
    writer.claim_model({"m", "fp", 4});
    VideoRecord v;
    v.path = "/v/cut.mp4", v.fingerprint = "fp-cut", v.size = 7, v.status = "partial", v.error = "read error";
    writer.save_video(v, {{0, 4, {1, 0, 0, 0}, {}}});
  }
  Library a = Library::open(db, true);
  a.begin_work(60);
  a.plan_work({"/v/one.mp4", "/v/two.mp4"});
  REQUIRE(a.claim_video("/v/one.mp4", "fp-one", 1, 0) == Library::Claim::Mine);
  CHECK(a.claim_video("/v/cut.mp4", "fp-cut", 7, 0) == Library::Claim::Mine);
  const WorkStatus held = a.work_status();
  CHECK(held.claimed == 2);
  CHECK(held.pending == 1);  // two.mp4: one.mp4 is claimed, so not waiting for a worker
  // A worker that stops (stopped, failed) gives its claims back at once, not after its lease.
  a.end_work("stopped");
  CHECK(test::sql_value(db, "SELECT count(*) FROM claims") == "0");
  Library b = Library::open(db, true);
  b.begin_work(60);
  CHECK(b.claim_video("/v/one.mp4", "fp-one", 1, 0) == Library::Claim::Mine);
  b.end_work("done");
}
