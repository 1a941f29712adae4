// The decode watchdog (src/pipeline/ingest/decode_watch.hpp): a decode stuck in a read that does not return
// is given up after $XSEARCH_DECODE_STALL_SECONDS, the video reported as failed by name, its claim given
// back, and the run goes on with the other videos; nothing the stuck thread does afterwards reaches out.
// Planning's fingerprint read is watched the same way (stuck_reads.hpp), the threads left behind are
// capped ($XSEARCH_MAX_STUCK_READS), and a stop while a read is stuck ends the run well within 2 s.
#include <signal.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_backends.hpp"
#include "library_helpers.hpp"
#include "pipeline/ingest/decode_watch.hpp"

using namespace xsearch;
using xsearch::test::quote;
namespace fs = std::filesystem;
using pipeline::DecodeWatch;
using std::chrono::seconds;

TEST_CASE("a decode watch gives a video up only after the limit without progress, once, and runs nothing of the decoder's afterwards", "[ingest]") {
  const auto now = DecodeWatch::clock::now();
  DecodeWatch w;
  CHECK_FALSE(w.give_up_if_stalled(now + seconds(3600), seconds(1)));  // no video yet: between videos, never
  w.begin(3, 7);
  const auto began = DecodeWatch::clock::now();
  CHECK_FALSE(w.give_up_if_stalled(began + std::chrono::milliseconds(900), seconds(1)));
  // While the decoder is in its own code (here: waiting for room in the queue), it is not stuck in FFmpeg.
  bool inside = false;
  CHECK(w.unless_given_up([&] {
    std::thread other([&] { inside = w.give_up_if_stalled(began + seconds(3600), seconds(1)).has_value(); });
    other.join();
  }));
  CHECK_FALSE(inside);
  w.progress();
  CHECK_FALSE(w.give_up_if_stalled(DecodeWatch::clock::now() + std::chrono::milliseconds(900), seconds(1)));
  const auto stalled = w.give_up_if_stalled(DecodeWatch::clock::now() + seconds(2), seconds(1));
  REQUIRE(stalled);
  CHECK(stalled->job == 3);
  CHECK(stalled->seq == 7);
  CHECK(w.given_up());
  CHECK_FALSE(w.give_up_if_stalled(DecodeWatch::clock::now() + seconds(3600), seconds(1)));  // once
  bool ran = false;
  CHECK_FALSE(w.unless_given_up([&] { ran = true; }));
  CHECK_FALSE(w.finish([&] { ran = true; }));
  CHECK_FALSE(ran);

  DecodeWatch finished;  // a video whose end was sent is no longer watched
  finished.begin(1, 1);
  CHECK(finished.finish([] {}));
  CHECK_FALSE(finished.given_up());
  CHECK_FALSE(finished.give_up_if_stalled(DecodeWatch::clock::now() + seconds(3600), seconds(1)));

  {
    test::ScopedEnv limit("XSEARCH_DECODE_STALL_SECONDS", "2");
    CHECK(pipeline::decode_stall_seconds() == 2);
  }
  // Not a whole number of seconds from 1 up is an error naming the variable, never a 1 s limit that would
  // give up nearly every slow read.
  for (const char* bad : {"0", "", "abc", "5s", "-3", "99999999999999999999"}) {
    INFO("XSEARCH_DECODE_STALL_SECONDS=\"" << bad << "\"");
    test::ScopedEnv limit("XSEARCH_DECODE_STALL_SECONDS", bad);
    CHECK_THROWS_WITH(pipeline::decode_stall_seconds(), Catch::Contains("XSEARCH_DECODE_STALL_SECONDS"));
  }
  CHECK(pipeline::decode_stall_seconds() == 300);
}

TEST_CASE("a decode stuck in a read is given up after XSEARCH_DECODE_STALL_SECONDS: the video fails by name, its claim goes back, the run goes on", "[cli][postgres]") {
  const std::string backend = GENERATE(std::string("sqlite"), std::string("postgres"));
  INFO("backend " << backend);
  test::TempDir tmp;
  test::ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
  const fs::path videos = tmp / "videos", stuck = videos / "a.mp4";
  fs::create_directories(videos);
  // Noise compresses badly: several megabytes in 3 s, so that the stalled bytes (1.5 to 1.75 MB) lie
  // outside the three megabytes the fingerprint reads (first, middle, last), and only the decoder meets them.
  test::ffmpeg("-f lavfi -i " + quote("nullsrc=s=320x240:r=25,geq=random(1)*255:128:128") + " -t 3 -c:v mpeg4 -q:v 1 " + quote(stuck.string()));
  REQUIRE(fs::file_size(stuck) > 5000000);
  test::make_video(videos / "b.mp4", "mandelbrot", 3);
  test::make_video(videos / "c.mp4", "smptebars", 3);
  const std::string db = test::new_library(backend, tmp.path());
  const std::string ingest = "ingest " + quote(videos.string()) + " --db " + quote(db) + " --decoders 1" + test::model_arg();
  // One decoder: its read of a.mp4 never returns, and the run can only go on with a worker in its place.
  // `timeout`: without a watchdog the ingest would wait for good; 120 s is far above a run's few seconds.
  const std::string cmd = "timeout 120 env LD_PRELOAD=" + quote(XSEARCH_READ_ERROR_PRELOAD) + " XSEARCH_TEST_READ_STALL=" +
                          quote("1500000-1750000:" + stuck.string()) + " XSEARCH_DECODE_STALL_SECONDS=2 " + quote(XSEARCH_BINARY) +
                          " " + ingest + " --json >" + quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
  const int status = test::shell_status(cmd);
  const std::string err = test::read_file(tmp / "err");
  INFO(err);
  REQUIRE(status == 3);  // done, a file failed
  const auto out = nlohmann::json::parse(test::read_file(tmp / "out"));
  CHECK(out["indexed"] == 2);
  CHECK(out["failed"] == 1);
  REQUIRE(out["failures"].size() == 1);
  CHECK(out["failures"][0]["path"] == stuck.string());
  CHECK_THAT(out["failures"][0]["error"].get<std::string>(), Catch::Contains("no progress for 2 s"));
  CHECK_THAT(err, Catch::Contains(stuck.string() + ": no progress for 2 s"));
  // Nothing of it written (a stall says nothing about the file), and no claim left on it.
  CHECK(test::sql_value(db, "SELECT count(*) FROM videos WHERE path = '" + stuck.string() + "'") == "0");
  CHECK(test::sql_value(db, "SELECT count(*) FROM videos WHERE status = 'indexed'") == "2");
  if (backend == "postgres") CHECK(test::sql_value(db, "SELECT count(*) FROM claims") == "0");

  // A later run, where the file reads normally, indexes it.
  const auto again = test::run_json(ingest, 0);
  CHECK(again["indexed"] == 1);
  CHECK(test::sql_value(db, "SELECT status FROM videos WHERE path = '" + stuck.string() + "'") == "indexed");
}

namespace {

// An ingest of `videos` run under the read shim with `env` (VAR=value ...), its --json output and errors
// under `tmp`; `timeout`: without a watchdog it would wait for good, and 120 s is far above a run's seconds.
int stalled_ingest(const fs::path& tmp, const fs::path& videos, const std::string& env, const std::string& extra = "") {
  const std::string cmd = "timeout 120 env LD_PRELOAD=" + quote(XSEARCH_READ_ERROR_PRELOAD) + " " + env + " " + quote(XSEARCH_BINARY) +
                          " ingest " + quote(videos.string()) + test::db_arg(tmp / "lib.db") + test::model_arg() + extra + " --json >" +
                          quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
  return test::shell_status(cmd);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Noise compresses badly: several megabytes in 3 s, so that bytes 1.5 to 1.75 MB lie outside the three
// megabytes the fingerprint reads (first, middle, last) and only the decoder meets them.
void make_noise_video(const fs::path& path) {
  fs::create_directories(path.parent_path());
  test::ffmpeg("-f lavfi -i " + quote("nullsrc=s=320x240:r=25,geq=random(1)*255:128:128") + " -t 3 -c:v mpeg4 -q:v 1 " + quote(path.string()));
  REQUIRE(fs::file_size(path) > 5000000);
}

}  // namespace

TEST_CASE("planning's fingerprint read that does not return is given up after XSEARCH_DECODE_STALL_SECONDS: the file fails by name, the others are indexed", "[cli]") {
  test::TempDir tmp;
  const fs::path videos = tmp / "videos", stuck = videos / "a.mp4";
  test::make_video(stuck, "testsrc2", 3);
  test::make_video(videos / "b.mp4", "mandelbrot", 3);
  test::make_video(videos / "c.mp4", "smptebars", 3);
  // The first bytes of a.mp4: the fingerprint's first read hangs (the decoder never gets to it).
  const int status = stalled_ingest(tmp.path(), videos, "XSEARCH_TEST_READ_STALL=" + quote("0-100:" + stuck.string()) + " XSEARCH_DECODE_STALL_SECONDS=2");
  const std::string err = test::read_file(tmp / "err");
  INFO(err);
  REQUIRE(status == 3);  // done, a file failed
  const auto out = nlohmann::json::parse(test::read_file(tmp / "out"));
  CHECK(out["indexed"] == 2);
  REQUIRE(out["failures"].size() == 1);
  CHECK(out["failures"][0]["path"] == stuck.string());
  CHECK_THAT(out["failures"][0]["error"].get<std::string>(), Catch::Contains("no progress for 2 s while reading its fingerprint"));
  CHECK(test::sqlite_value(tmp / "lib.db", "SELECT count(*) FROM videos WHERE path = '" + stuck.string() + "'") == "0");
}

TEST_CASE("once XSEARCH_MAX_STUCK_READS reads are stuck the run stops with an error saying so, rather than leave a thread per dead file", "[cli]") {
  test::TempDir tmp;
  SECTION("fingerprints of a folder of dead files") {
    const fs::path videos = tmp / "videos";
    for (int i = 0; i < 5; ++i) test::make_video(videos / "dead" / ("d" + std::to_string(i) + ".mp4"), "testsrc2", 1);
    const int status = stalled_ingest(tmp.path(), videos, "XSEARCH_TEST_READ_STALL_UNDER=" + quote((videos / "dead").string()) +
                                                       " XSEARCH_DECODE_STALL_SECONDS=1 XSEARCH_MAX_STUCK_READS=2");
    const std::string err = test::read_file(tmp / "err");
    INFO(err);
    CHECK(status == 2);  // an error, not a run done with failed files
    CHECK_THAT(err, Catch::Contains("XSEARCH_MAX_STUCK_READS=2"));
    CHECK(occurrences(err, "while reading its fingerprint") == 2);  // two left behind, then no more tried
  }
  SECTION("a decoder stuck in a read") {
    const fs::path videos = tmp / "videos", stuck = videos / "a.mp4";
    make_noise_video(stuck);
    test::make_video(videos / "b.mp4", "mandelbrot", 3);
    test::make_video(videos / "c.mp4", "smptebars", 3);
    const int status = stalled_ingest(tmp.path(), videos,
                                      "XSEARCH_TEST_READ_STALL=" + quote("1500000-1750000:" + stuck.string()) +
                                          " XSEARCH_DECODE_STALL_SECONDS=2 XSEARCH_MAX_STUCK_READS=1",
                                      " --decoders 1");
    const std::string err = test::read_file(tmp / "err");
    INFO(err);
    CHECK(status == 2);
    CHECK_THAT(err, Catch::Contains(stuck.string() + ": no progress for 2 s"));
    CHECK_THAT(err, Catch::Contains("XSEARCH_MAX_STUCK_READS=1"));
    // No worker took the stuck one's place: the videos after it were not decoded.
    CHECK(test::sqlite_value(tmp / "lib.db", "SELECT count(*) FROM videos WHERE status = 'indexed'") == "0");
  }
}

TEST_CASE("SIGINT while a read is stuck ends the ingest well within 2 s, in planning and in decoding", "[cli]") {
  const std::string phase = GENERATE(std::string("fingerprint"), std::string("decode"));
  INFO(phase);
  test::TempDir tmp;
  const fs::path videos = tmp / "videos", stuck = videos / "a.mp4", mark = tmp / "stuck";
  make_noise_video(stuck);
  test::make_video(videos / "b.mp4", "mandelbrot", 3);
  const std::string range = phase == "fingerprint" ? "0-100:" : "1500000-1750000:";
  // The default limit (300 s): only the stop may end the stuck read's wait. `timeout` (which passes the
  // SIGINT on): a run that never ends fails the test in 30 s instead of hanging it. --foreground: without it
  // timeout sends the signal to xsearch and again to its whole process group, and a second SIGINT ends
  // xsearch at once (_exit 130), which would pass this test whatever the stop handling does.
  const pid_t pid = test::spawn_shell("exec timeout --foreground -s KILL 30 env LD_PRELOAD=" + quote(XSEARCH_READ_ERROR_PRELOAD) + " XSEARCH_TEST_READ_STALL=" +
                                      quote(range + stuck.string()) + " XSEARCH_TEST_READ_STALL_MARK=" + quote(mark.string()) + " " +
                                      quote(XSEARCH_BINARY) + " ingest " + quote(videos.string()) + test::db_arg(tmp / "lib.db") +
                                      test::model_arg() + " --decoders 1 --json >" + quote((tmp / "out").string()) + " 2>" +
                                      quote((tmp / "err").string()));
  // Signalled once the read hangs (a bounded wait for the shim's mark, not a timing).
  for (int i = 0; i < 6000 && !fs::exists(mark); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(fs::exists(mark));
  REQUIRE(::kill(pid, SIGINT) == 0);
  const test::ChildEnd end = test::wait_child(pid);
  INFO(test::read_file(tmp / "err"));
  WARN("stopped " << end.seconds << " s after SIGINT with a read stuck in " << phase);
  CHECK(end.status == 130);
  // The rule is 2 s (it took about 3 s before): a stuck decoder gets 1 s to come back after the stop, so
  // that a healthy one in a slow step (a big frame's resize on a loaded machine) is not left behind.
  CHECK(end.seconds < 2.0);
}
