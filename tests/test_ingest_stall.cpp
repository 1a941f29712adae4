// The decode watchdog (src/pipeline/ingest/decode_watch.hpp): a decode stuck in a read that does not return
// is given up after $XSEARCH_DECODE_STALL_SECONDS, the video reported as failed by name, its claim given
// back, and the run goes on with the other videos; nothing the stuck thread does afterwards reaches out.
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
