// Bad video files: each gives an error naming the file and the cause, or the frames that could be read;
// never a crash, a hang or unbounded memory.
#include "helpers.hpp"
#include "xsearch/error.hpp"
#include "xsearch/video.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

namespace {

std::string open_error(const fs::path& p) {
  try {
    VideoReader r(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("bad video files give clear errors naming the file", "[video]") {
  test::TempDir tmp;
  SECTION("missing") { CHECK_THAT(open_error(tmp / "nope.mp4"), Catch::Contains("nope.mp4: no such file")); }
  SECTION("empty") {
    test::write_file(tmp / "empty.mp4", "");
    CHECK_THAT(open_error(tmp / "empty.mp4"), Catch::Contains("empty.mp4: empty file"));
  }
  SECTION("not media") {
    test::write_file(tmp / "notes.mp4", "these are my notes, not a video\n");
    CHECK_THAT(open_error(tmp / "notes.mp4"), Catch::Contains("notes.mp4: not a readable video"));
  }
  SECTION("audio only") {
    test::ffmpeg("-f lavfi -i sine=duration=1 " + (tmp / "tone.m4a").string());
    CHECK_THAT(open_error(tmp / "tone.m4a"), Catch::Contains("tone.m4a: no video stream"));
  }
  SECTION("a single image") {
    test::ffmpeg("-f lavfi -i testsrc=size=64x64:duration=1 -frames:v 1 " + (tmp / "still.png").string());
    CHECK_THAT(open_error(tmp / "still.png"), Catch::Contains("still.png: a single image"));
  }
  SECTION("a one-frame video") {
    test::ffmpeg("-f lavfi -i testsrc=size=64x64:rate=1:duration=1 -c:v libx264 " + (tmp / "one.mp4").string());
    CHECK_THAT(open_error(tmp / "one.mp4"), Catch::Contains("one.mp4: a single image"));
  }
  SECTION("a directory") { CHECK_THAT(open_error(tmp.path()), Catch::Contains("is a directory")); }
  SECTION("truncated mp4 without its index") {
    test::ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25:duration=4 -c:v libx264 " + (tmp / "full.mp4").string());
    const std::string bytes = test::read_file(tmp / "full.mp4");
    test::write_file(tmp / "cut.mp4", bytes.substr(0, bytes.size() / 3));
    const std::string msg = open_error(tmp / "cut.mp4");
    CHECK_THAT(msg, Catch::Contains("cut.mp4: "));
  }
}

TEST_CASE("truncated and corrupt videos give the frames that can be read", "[video]") {
  test::TempDir tmp;
  SECTION("truncated fast-start mp4") {
    test::ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25:duration=8 -c:v libx264 -movflags +faststart " +
                 (tmp / "full.mp4").string());
    const std::string bytes = test::read_file(tmp / "full.mp4");
    test::write_file(tmp / "cut.mp4", bytes.substr(0, bytes.size() / 2));
    VideoReader r(tmp / "cut.mp4");
    const auto times = r.frame_times();
    CHECK(!times.empty());
    CHECK(times.size() < 200);
  }
  SECTION("garbage in the middle of a transport stream") {
    test::ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25:duration=8 -c:v libx264 -g 25 " + (tmp / "full.ts").string());
    std::string bytes = test::read_file(tmp / "full.ts");
    std::mt19937 rng(1);
    for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 30000 && i < bytes.size(); ++i)
      bytes[i] = static_cast<char>(rng());
    test::write_file(tmp / "corrupt.ts", bytes);
    VideoReader r(tmp / "corrupt.ts");
    const auto clips = plan_clips(r.info().start, r.info().end, 8);
    int frames = 0;
    r.frames_at_times(clips.back().target_times, [&](std::size_t, const RgbFrame& f) {
      CHECK(f.rgb.size() == static_cast<std::size_t>(f.width) * f.height * 3);
      ++frames;
    });
    CHECK(frames == 8);
    CHECK(r.frames_decoded() > 50);
  }
}
