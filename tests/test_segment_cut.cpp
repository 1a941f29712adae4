// Segment cuts (media/segment.hpp), probed frame by frame: the source's frame N has luma 16 + 2N, so each
// output frame says which source frame it is. 10 frames per second, a keyframe every second (10 frames).
#include "media/encoder_choice.hpp"
#include "media/segment.hpp"
#include "media_probe.hpp"

using namespace xsearch;
using test::fs::path;

namespace {

constexpr int kRate = 10;
const std::string kH264 = "-c:v libx264 -g 10 -keyint_min 10 -sc_threshold 0 -bf 2 -crf 8 -pix_fmt yuv420p";
// No scene cuts: every frame of the numbered video differs from the last, which mpeg4 would make a keyframe.
const std::string kMpeg4 = "-c:v mpeg4 -q:v 2 -g 10 -bf 0 -sc_threshold 1000000000";
const std::string kSine = "-f lavfi -i sine=frequency=440:sample_rate=48000 -c:a aac -shortest";

// The source frame numbers an output holds, in presentation order.
std::vector<int> frame_numbers(const test::Probed& p) {
  std::vector<int> n;
  for (std::size_t i = 0; i < p.frames.size(); ++i) n.push_back(p.source_frame(i));
  return n;
}

// The numbers of the source frames shown in [start, end) (the CLI's encoding may shift frames a little
// against their time, for instance to line up with an audio track).
std::vector<int> frames_between(const test::Probed& source, double start, double end) {
  std::vector<int> n;
  for (std::size_t i = 0; i < source.frames.size(); ++i)
    if (source.frames[i].time >= start - 1e-6 && source.frames[i].time < end - 1e-6) n.push_back(source.source_frame(i));
  return n;
}

}  // namespace

TEST_CASE("an exact cut holds exactly the frames from start up to end, from time 0", "[media]") {
  test::TempDir tmp;
  const path src = tmp / "numbered.mp4";
  test::make_numbered_video(src, 11, kRate, kH264);
  // 3.05 s is between frames 30 and 31: the first frame at or after it is 31; 6.0 s excludes frame 60.
  const path out = tmp / "exact.mp4";
  const media::CutResult r = media::cut_exact(src, 3.05, 6.0, out, {});
  const test::Probed p = test::probe_media(out);
  CHECK(p.video_codec == media::choose_encoder().codec);
  REQUIRE(p.frames.size() == 29);
  CHECK(p.source_frame(0) == 31);
  CHECK(p.source_frame(p.frames.size() - 1) == 59);
  for (std::size_t i = 1; i < p.frames.size(); ++i) CHECK(p.source_frame(i) == p.source_frame(i - 1) + 1);
  CHECK(p.frames.front().time == Approx(0).margin(1e-6));
  CHECK(p.duration == Approx(2.9).margin(1.0 / kRate));  // within one frame
  CHECK(r.first == Approx(3.1).margin(1e-6));
  CHECK(r.last_end == Approx(6.0).margin(1e-6));
  CHECK(r.frames == 29);
}

TEST_CASE("a stream copy starts at the keyframe at or before start and ends at the keyframe at or after end", "[media]") {
  test::TempDir tmp;
  const path src = tmp / "numbered.mp4";
  test::make_numbered_video(src, 11, kRate, kH264, kSine);
  const auto [format, ext] = media::copy_container(src);
  CHECK(format == "mp4");
  const path out = tmp / ("copy." + ext);
  const media::CutResult r = media::cut_copy(src, 3.5, 5.5, out, format);
  const test::Probed p = test::probe_media(out);
  CHECK(p.video_codec == "h264");
  CHECK(p.audio_streams == 1);
  CHECK(r.audio_streams == 1);
  REQUIRE(!p.frames.empty());
  const auto n = frame_numbers(p);
  CHECK(n.front() == 30);          // the keyframe at 3.0 s: within one GOP before 3.5 s
  CHECK(p.frames.front().key);
  CHECK(r.first == Approx(3.0).margin(1e-6));
  CHECK(n.back() == 59);           // every frame before 5.5 s, up to the next keyframe (6.0 s): within a GOP
  CHECK(r.last_end == Approx(6.0).margin(1e-6));
  for (std::size_t i = 1; i < n.size(); ++i) CHECK(n[i] == n[i - 1] + 1);
  CHECK(p.frames.front().time == Approx(0).margin(0.5 / kRate));
  CHECK(p.duration == Approx(2.0).margin(1.0));  // within one GOP of the asked 2.0 s
}

TEST_CASE("a stream copy of an AVI keeps its container and its MPEG-4 Part 2 video", "[media]") {
  test::TempDir tmp;
  const path src = tmp / "numbered.avi";
  test::make_numbered_video(src, 11, kRate, kMpeg4);
  const auto [format, ext] = media::copy_container(src);
  CHECK(format == "avi");
  const path out = tmp / ("copy." + ext);
  media::cut_copy(src, 4.2, 5.0, out, format);
  const test::Probed p = test::probe_media(out);
  CHECK(p.format == "avi");
  CHECK(p.video_codec == "mpeg4");
  const auto n = frame_numbers(p);
  REQUIRE(!n.empty());
  CHECK(n.front() == 40);
  CHECK(n.back() == 49);
}

TEST_CASE("an exact cut of an AVI is frame-accurate and keeps the audio a container takes", "[media]") {
  test::TempDir tmp;
  const path src = tmp / "numbered.avi";
  test::make_numbered_video(src, 11, kRate, kMpeg4 + " -c:a libmp3lame", "-f lavfi -i sine=sample_rate=44100");
  const path out = tmp / "exact.mp4";
  const media::CutResult r = media::cut_exact(src, 7.0, 9.0, out, {});
  const test::Probed p = test::probe_media(out);
  CHECK(p.audio_streams == 1);
  CHECK(r.audio_streams == 1);
  CHECK(frame_numbers(p) == frames_between(test::probe_media(src), 7.0, 9.0));
  CHECK(p.frames.size() == 20);
}

TEST_CASE("cuts name the file and the segment when there is nothing to cut", "[media]") {
  test::TempDir tmp;
  const path src = tmp / "numbered.mp4";
  test::make_numbered_video(src, 3, kRate, kH264);
  CHECK_THROWS_WITH(media::cut_exact(src, 5.0, 6.0, tmp / "x.mp4", {}), Catch::Contains(src.string()) && Catch::Contains("no video frames"));
  CHECK_THROWS_WITH(media::cut_copy(src, 2.0, 2.0, tmp / "y.mp4"), Catch::Contains("empty segment"));
  CHECK_THROWS_WITH(media::cut_copy(tmp / "missing.mp4", 0, 1, tmp / "z.mp4"), Catch::Contains("missing.mp4"));
  CHECK(!test::fs::exists(tmp / "x.mp4"));  // nothing half-written is left
}

TEST_CASE("the encoder choice skips encoders this FFmpeg lacks", "[media]") {
  const media::EncoderChoice c = media::choose_encoder({"no-such-encoder", "libx264", "libvpx-vp9"});
  CHECK(c.encoder == "libx264");
  CHECK(c.format == "mp4");
  const media::EncoderChoice vp9 = media::choose_encoder({"no-such-encoder", "libvpx-vp9"});
  CHECK(vp9.format == "webm");
  CHECK(vp9.mime == "video/webm");
  CHECK_THROWS_WITH(media::choose_encoder({"no-such-encoder"}), Catch::Contains("no-such-encoder"));
}
