// The video reader, clip windows, frame choice and preprocessing, against the reference fixture and
// against videos made here with the ffmpeg CLI.
#include <cstring>

#include "helpers.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/video.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
namespace fs = std::filesystem;

namespace {

// For each target, the first of `times` at or after it (the last frame where none is).
std::vector<double> expected_choice(const std::vector<double>& times, const std::vector<double>& targets) {
  std::vector<double> out;
  for (double t : targets) {
    auto it = std::find_if(times.begin(), times.end(), [&](double x) { return x >= t - 1e-9; });
    out.push_back(it == times.end() ? times.back() : *it);
  }
  return out;
}

std::vector<double> chosen_times(VideoReader& r, const std::vector<double>& targets, bool allow_seek = true) {
  std::vector<double> out(targets.size());
  r.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) { out[k] = f.time; }, allow_seek);
  return out;
}

// Largest and mean absolute difference of two equally long arrays.
std::pair<double, double> diff_stats(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double max = 0, sum = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    max = std::max(max, d);
    sum += d;
  }
  return {max, got.empty() ? 0.0 : sum / got.size()};
}

}  // namespace

TEST_CASE("reader and processor reproduce the reference frames and pixel values", "[video]") {
  const auto dir = fixtures_dir() / "video";
  const SafetensorsFile expected(dir / "visible-640x360-h264.expected.safetensors");
  const auto indices = expected.read("frame_indices").to_int64();
  VideoReader reader(dir / "visible-640x360-h264.mp4");
  CHECK(reader.info().width == 640);
  CHECK(reader.info().height == 360);
  CHECK(reader.info().fps == Approx(30));
  CHECK(reader.info().duration() == Approx(6.0));
  const auto frames = reader.frames_at_indices(indices);
  REQUIRE(frames.size() == indices.size());
  HostTensor rgb;
  rgb.dtype = DType::U8;
  rgb.shape = {static_cast<int64_t>(frames.size()), 360, 640, 3};
  std::vector<float> pixels;
  for (const auto& f : frames) {
    rgb.bytes.insert(rgb.bytes.end(), f.rgb.begin(), f.rgb.end());
    preprocess_frame(f, PreprocessorConfig{}, pixels);
  }
  // Decoding: swscale with the reference's matrix and flags gives the reference's RGB exactly here (max 0).
  // One level is allowed because swscale picks its SIMD code by CPU, and those paths may round differently.
  const HostTensor want_rgb = expected.read("frames_rgb");
  const auto [max_rgb, mean_rgb] = diff_stats(rgb.to_float(), want_rgb.to_float());
  CHECK(max_rgb <= 1);
  CHECK(mean_rgb < 0.01);
  // Decoding + processing: one RGB level becomes at most 1 / 255 / 0.225 = 0.0174 after the resize and the
  // normalisation (0.018 with the float rounding below); here it is 7e-7.
  const auto [max_px, mean_px] = diff_stats(pixels, expected.read("pixel_values").to_float());
  CHECK(max_px <= 0.018);
  CHECK(mean_px < 1e-3);

  // The processor alone, from the reference's own RGB frames: the resize is a bit-exact port of PIL's
  // fixed-point bilinear filter, so every resized level must be PIL's. What remains is float32 rounding of
  // (x / 255 - mean) / std, a few ulps of values under 2.7 (ulp 2.4e-7): max 7e-7 measured, 2e-6 allowed.
  // A single level off anywhere is 0.017, four orders of magnitude above the bound.
  std::vector<float> from_reference;  // preprocess_frame appends
  const std::size_t frame_bytes = 360 * 640 * 3;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    RgbFrame f;
    f.width = 640;
    f.height = 360;
    f.rgb.assign(want_rgb.bytes.begin() + static_cast<std::ptrdiff_t>(i * frame_bytes),
                 want_rgb.bytes.begin() + static_cast<std::ptrdiff_t>((i + 1) * frame_bytes));
    preprocess_frame(f, PreprocessorConfig{}, from_reference);
  }
  const auto [max_exact, mean_exact] = diff_stats(from_reference, expected.read("pixel_values").to_float());
  CHECK(max_exact <= 2e-6);
  CHECK(mean_exact < 5e-7);  // 1.7e-7 measured: float32 rounding only
}

TEST_CASE("the whole-video clip picks the reference's frames", "[video]") {
  const SafetensorsFile classify(fixtures_dir() / "xclip-tiny-full" / "visible-640x360-h264.classify.safetensors");
  VideoReader reader(fixtures_dir() / "video" / "visible-640x360-h264.mp4");
  const ClipWindow clip = whole_video_clip(reader.info(), 8);
  CHECK(clip.start == Approx(0.0));
  CHECK(clip.end == Approx(6.0));
  std::vector<int64_t> indices(8);
  reader.frames_at_times(clip.target_times, [&](std::size_t k, const RgbFrame& f) { indices[k] = f.index; });
  CHECK(indices == classify.read("frame_indices").to_int64());
}

TEST_CASE("clip windows: default stride, short last window, very short videos", "[video]") {
  auto spans = [](const std::vector<ClipWindow>& clips) {
    std::vector<std::pair<double, double>> out;
    for (const auto& c : clips) out.emplace_back(c.start, c.end);
    return out;
  };
  using P = std::vector<std::pair<double, double>>;
  CHECK(spans(plan_clips(0, 10, 8)) == P{{0, 4}, {4, 8}, {8, 10}});
  CHECK(spans(plan_clips(0, 9, 8)) == P{{0, 4}, {4, 8}});  // the 1 s tail is shorter than half a window
  CHECK(spans(plan_clips(0, 3, 8)) == P{{0, 3}});          // shorter than a window: one clip
  CHECK(spans(plan_clips(0, 0.2, 8)) == P{{0, 0.2}});
  ClipWindowOptions o;
  o.window = 4;
  o.stride = 2;
  CHECK(spans(plan_clips(0, 10, 8, o)) == P{{0, 4}, {2, 6}, {4, 8}, {6, 10}});
  o.window = 1;
  o.stride = 5;
  CHECK(spans(plan_clips(1, 12, 8, o)) == P{{1, 2}, {6, 7}, {11, 12}});
  const auto c = plan_clips(0, 4, 8).front();
  REQUIRE(c.target_times.size() == 8);
  CHECK(c.target_times[0] == Approx(0.25));
  CHECK(c.target_times[7] == Approx(3.75));
  CHECK_THROWS(plan_clips(0, 10, 8, ClipWindowOptions{0, 1, 0.5}));
}

TEST_CASE("a frame exactly on a target time is chosen: the reference's segment middles at 8 and 24 fps", "[video]") {
  // The original X-CLIP sampling splits a clip's F frames into 8 equal segments and takes each segment's
  // middle frame, index seg * i + seg / 2 (the later of the two middles when seg is even). At 8 and 24 fps
  // a 4 s window holds 32 / 96 frames, so seg is a whole 4 / 12 and each middle frame lies exactly on our
  // target time (i + 0.5) * 0.5 s: a rule that skips a frame sitting on its target picks seg/2 + 1.
  // The expected indices come from that integer formula, not from the reader's own time rule.
  test::TempDir tmp;
  for (const int fps : {8, 24}) {
    INFO(fps << " fps");
    const auto path = tmp / ("exact" + std::to_string(fps) + ".mp4");
    test::ffmpeg("-f lavfi -i testsrc=size=96x64:rate=" + std::to_string(fps) + ":duration=8 -c:v libx264 -g " +
                 std::to_string(2 * fps) + " -pix_fmt yuv420p " + path.string());
    VideoReader reader(path);
    const auto clips = plan_clips(reader.info().start, reader.info().end, 8);
    REQUIRE(clips.size() == 2);
    const int64_t frames_per_window = 4 * fps, seg = frames_per_window / 8;
    std::vector<double> targets;
    std::vector<int64_t> expected;
    for (std::size_t w = 0; w < clips.size(); ++w)
      for (int64_t i = 0; i < 8; ++i) {
        targets.push_back(clips[w].target_times[static_cast<std::size_t>(i)]);
        expected.push_back(static_cast<int64_t>(w) * frames_per_window + seg * i + seg / 2);
      }
    std::vector<int64_t> got(targets.size(), -1);
    reader.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) { got[k] = f.index; });
    CHECK(got == expected);
  }
}

TEST_CASE("frames follow the first-frame-at-or-after rule at constant and variable frame rates", "[video]") {
  test::TempDir tmp;
  const auto cfr = tmp / "cfr.mp4";
  test::ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25:duration=10 -c:v libx264 -g 50 -pix_fmt yuv420p " + cfr.string());
  // Variable rate: 25 fps for 2 s, then frames 0.1 s apart, then 0.02 s apart.
  const auto vfr = tmp / "vfr.mkv";
  test::ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25:duration=8 -vf \"setpts='if(lt(N,50),N/25,if(lt(N,100),2+(N-50)/10,7+(N-100)/50))/TB'\" "
               "-fps_mode vfr -c:v libx264 -pix_fmt yuv420p " + vfr.string());
  for (const auto& path : {cfr, vfr}) {
    INFO(path);
    VideoReader reader(path);
    const auto times = reader.frame_times();
    REQUIRE(times.size() > 100);
    const auto& info = reader.info();
    CHECK(info.start == Approx(times.front()));
    CHECK(info.end > times.back());
    const auto clips = plan_clips(info.start, info.end, 8);
    REQUIRE(!clips.empty());
    std::vector<double> targets;
    for (const auto& c : clips) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
    CHECK(chosen_times(reader, targets) == expected_choice(times, targets));
  }
  VideoReader v(vfr);
  const auto t = v.frame_times();
  // Really variable (the encoder's 1/25 s time base rounds the 0.1 s steps to 0.08 / 0.12).
  double min_gap = 1e9, max_gap = 0;
  for (std::size_t i = 1; i < t.size(); ++i) {
    min_gap = std::min(min_gap, t[i] - t[i - 1]);
    max_gap = std::max(max_gap, t[i] - t[i - 1]);
  }
  CHECK(min_gap < 0.045);
  CHECK(max_gap > 0.075);
}

TEST_CASE("seeking gives the same frames as decoding through, with less decoding", "[video]") {
  test::TempDir tmp;
  const auto path = tmp / "long.mp4";
  test::ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=25:duration=60 -c:v libx264 -g 25 -pix_fmt yuv420p " + path.string());
  ClipWindowOptions o;
  o.window = 1;
  o.stride = 20;  // sparse windows: long gaps between them
  std::vector<double> targets;
  VideoReader seeking(path), through(path);
  for (const auto& c : plan_clips(seeking.info().start, seeking.info().end, 4, o))
    targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
  std::vector<RgbFrame> a(targets.size()), b(targets.size());
  seeking.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) { a[k] = f; }, true);
  through.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) { b[k] = f; }, false);
  for (std::size_t k = 0; k < targets.size(); ++k) {
    INFO("target " << targets[k]);
    CHECK(a[k].time == Approx(b[k].time));
    CHECK(a[k].rgb == b[k].rgb);
  }
  CHECK(seeking.frames_decoded() < through.frames_decoded() / 2);
  // Only the chosen frames were converted to RGB.
  CHECK(through.frames_converted() == static_cast<int64_t>(targets.size()));
}

TEST_CASE("rotated videos come out upright, as ffmpeg shows them", "[video]") {
  test::TempDir tmp;
  const auto plain = tmp / "plain.mp4";
  const auto rotated = tmp / "rotated.mp4";
  // Red left half, blue right half, 64x32.
  test::ffmpeg("-f lavfi -i color=red:s=32x32:d=1 -f lavfi -i color=blue:s=32x32:d=1 -filter_complex hstack "
               "-c:v libx264 -pix_fmt yuv420p " + plain.string());
  // FFmpeg 7 ignores a "rotate" tag when writing: its input option -display_rotation sets the display matrix.
  // FFmpeg 5.1 has no -display_rotation (the command fails) and stores the "rotate" tag as a display matrix.
  const std::string display_rotation =
      "ffmpeg -nostdin -y -loglevel quiet -display_rotation:v:0 90 -i " + plain.string() + " -c copy " + rotated.string();
  if (std::system(display_rotation.c_str()) != 0)
    test::ffmpeg("-i " + plain.string() + " -c copy -metadata:s:v:0 rotate=90 " + rotated.string());
  VideoReader reader(rotated);
  // Whichever way the display matrix turns, we must agree with ffmpeg's own autorotation (checked below,
  // pixel by pixel).
  const int rotation = reader.info().rotation;
  CHECK((rotation == 90 || rotation == 270));
  CHECK(reader.info().width == 32);
  CHECK(reader.info().height == 64);
  const auto frames = reader.frames_at_indices({0});
  REQUIRE(frames[0].width == 32);
  REQUIRE(frames[0].height == 64);
  // ffmpeg's own autorotation as the oracle.
  const auto raw = tmp / "frame.rgb";
  test::ffmpeg("-i " + rotated.string() + " -frames:v 1 -f rawvideo -pix_fmt rgb24 -sws_flags bilinear " + raw.string());
  const std::string want = test::read_file(raw);
  REQUIRE(want.size() == frames[0].rgb.size());
  int max_diff = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    max_diff = std::max(max_diff, std::abs(static_cast<int>(static_cast<uint8_t>(want[i])) - frames[0].rgb[i]));
  CHECK(max_diff <= 2);
  // Red (the left half) is on top after a clockwise quarter turn, at the bottom after a counterclockwise one.
  const uint8_t* top = &frames[0].rgb[(5 * 32 + 16) * 3];
  const bool red_on_top = top[0] > 200 && top[2] < 60;
  const bool blue_on_top = top[2] > 200 && top[0] < 60;
  CHECK(red_on_top == (rotation == 90));
  CHECK(blue_on_top == (rotation == 270));
}

TEST_CASE("very short, tiny and anamorphic videos give clips", "[video]") {
  test::TempDir tmp;
  const auto shortv = tmp / "short.mp4";
  test::ffmpeg("-f lavfi -i testsrc=size=16x16:rate=30:duration=0.3 -c:v libx264 -pix_fmt yuv420p " + shortv.string());
  VideoReader reader(shortv);
  CHECK(reader.info().width == 16);
  const auto clips = plan_clips(reader.info().start, reader.info().end, 8);
  REQUIRE(clips.size() == 1);
  std::vector<float> pixels;
  int n = 0;
  reader.frames_at_times(clips[0].target_times, [&](std::size_t, const RgbFrame& f) {
    preprocess_frame(f, PreprocessorConfig{}, pixels);
    ++n;
  });
  CHECK(n == 8);
  CHECK(pixels.size() == 8u * 3 * 224 * 224);

  const auto anamorphic = tmp / "sar.mkv";
  test::ffmpeg("-f lavfi -i testsrc=size=100x80:rate=10:duration=1 -vf setsar=2/1 -c:v libx264 -pix_fmt yuv420p " + anamorphic.string());
  VideoReader sar(anamorphic);
  CHECK(sar.info().sar_num == 2);
  CHECK(sar.info().width == 200);  // shown as a player shows it
  CHECK(sar.frames_at_indices({0})[0].width == 200);
}

TEST_CASE("preprocessor config reads sizes, crops, means and refuses bad values", "[video]") {
  const auto c = PreprocessorConfig::load(fixtures_dir() / "xclip-tiny-full");
  CHECK(c.shortest_edge == 224);
  CHECK(c.crop_height == 224);
  CHECK(c.resample == 2);
  CHECK(c.image_mean[0] == Approx(0.485));
  const auto d = PreprocessorConfig::parse(R"({"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}})", "p");
  CHECK(d.shortest_edge == 336);
  CHECK(d.crop_width == 336);
  CHECK_THROWS_WITH(PreprocessorConfig::parse(R"({"resample": 0})", "p.json"), Catch::Contains("p.json: resample 0"));
  CHECK_THROWS_WITH(PreprocessorConfig::parse(R"({"image_std": [1, 0, 1]})", "p.json"), Catch::Contains("zero"));
  // A crop larger than the resized frame pads with zeros (after normalisation: -mean/std).
  PreprocessorConfig big;
  big.crop_height = big.crop_width = 300;
  RgbFrame f;
  f.width = f.height = 10;
  f.rgb.assign(300, 255);
  std::vector<float> out;
  preprocess_frame(f, big, out);
  REQUIRE(out.size() == 3u * 300 * 300);
  CHECK(out[0] == Approx(-0.485 / 0.229));
  CHECK(out[150 * 300 + 150] == Approx((1.0 - 0.485) / 0.229));
}

TEST_CASE("a center crop with an odd excess shifts by the reference's floor, padding one row more on top", "[video]") {
  // transformers' center_crop: top = (h - crop) // 2 (Python floors); a crop larger than the image pads it
  // with zeros, ceil((crop - h) / 2) rows above, and then takes the rows from max(0, top + pad). For 224
  // rows and a crop of 301: top = -39, pad = 39, so output row 39 is the image's row 0 and row 38 padding.
  // Truncating division would give top = -38 and move the picture up one row.
  // offset: output row (column) r shows image row r - offset; positive offsets are padding, negative ones
  // are rows cropped away.
  struct Case {
    int height, width, crop_height, crop_width, row_offset, col_offset;
  };
  for (const Case& c : {Case{224, 224, 301, 301, 39, 39}, Case{225, 230, 224, 224, 0, -3}, Case{227, 224, 224, 301, -1, 39},
                        Case{10, 12, 300, 301, 145, 145}}) {
    INFO(c.height << "x" << c.width << " cropped to " << c.crop_height << "x" << c.crop_width);
    PreprocessorConfig config;
    config.do_resize = config.do_rescale = config.do_normalize = false;  // the crop alone, raw values
    config.crop_height = c.crop_height;
    config.crop_width = c.crop_width;
    RgbFrame f;
    f.width = c.width;
    f.height = c.height;
    // Red is the row + 1 and green the column + 1 (never 0, the padding's value; all below 256 here).
    for (int y = 0; y < c.height; ++y)
      for (int x = 0; x < c.width; ++x) f.rgb.insert(f.rgb.end(), {static_cast<uint8_t>(y + 1), static_cast<uint8_t>(x + 1), 0});
    std::vector<float> out;
    preprocess_frame(f, config, out);
    REQUIRE(out.size() == 3u * c.crop_height * c.crop_width);
    auto at = [&](int channel, int y, int x) { return out[(static_cast<std::size_t>(channel) * c.crop_height + y) * c.crop_width + x]; };
    const int mid_y = c.crop_height / 2, mid_x = c.crop_width / 2;
    if (c.row_offset > 0) CHECK(at(0, c.row_offset - 1, mid_x) == 0.0f);
    CHECK(at(0, std::max(0, c.row_offset), mid_x) == static_cast<float>(std::max(0, -c.row_offset) + 1));
    if (c.col_offset > 0) CHECK(at(1, mid_y, c.col_offset - 1) == 0.0f);
    CHECK(at(1, mid_y, std::max(0, c.col_offset)) == static_cast<float>(std::max(0, -c.col_offset) + 1));
  }
}

TEST_CASE("common codecs and containers decode: HEVC, VP9, AV1, MPEG-4 in mp4, webm, mkv, avi", "[video]") {
  test::TempDir tmp;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hevc.mp4", "-c:v libx265 -x265-params log-level=none"},
      {"vp9.webm", "-c:v libvpx-vp9 -deadline realtime"},
      {"av1.mkv", "-c:v libaom-av1 -cpu-used 8"},
      {"mpeg4.avi", "-c:v mpeg4"},
      {"h264.mov", "-c:v libx264"},
  };
  for (const auto& [name, codec] : cases) {
    INFO(name);
    test::ffmpeg("-f lavfi -i testsrc=size=96x64:rate=10:duration=3 " + codec + " -pix_fmt yuv420p " + (tmp / name).string());
    VideoReader reader(tmp / name);
    CHECK(reader.info().width == 96);
    CHECK(reader.info().height == 64);
    CHECK(reader.info().duration() == Approx(3.0).margin(0.11));
    const auto clip = whole_video_clip(reader.info(), 8);
    int frames = 0;
    reader.frames_at_times(clip.target_times, [&](std::size_t, const RgbFrame& f) {
      CHECK(f.rgb.size() == 96u * 64 * 3);
      ++frames;
    });
    CHECK(frames == 8);
  }
}

namespace {

// The frames frames_at_times passes on for `targets`, decoding selectively or in full, and how many
// frames the decoder gave for them.
struct Chosen {
  std::vector<RgbFrame> frames;
  std::vector<int> passed;  // how many times each target was passed on
  int64_t decoded = 0, errors = 0;
};

Chosen choose_frames(const fs::path& path, const std::vector<double>& targets, bool selective, bool allow_seek = true,
                     int threads = 0) {
  VideoReader reader(path, threads);
  reader.set_selective_decoding(selective);
  Chosen c;
  c.frames.resize(targets.size());
  c.passed.assign(targets.size(), 0);
  reader.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
    c.frames[k] = f;
    ++c.passed[k];
  }, allow_seek);
  c.decoded = reader.frames_decoded();
  c.errors = reader.decode_errors();
  return c;
}

// Every target got the same frame both ways: time, index, size and every byte.
void check_same_frames(const Chosen& selective, const Chosen& full, const std::vector<double>& targets) {
  CHECK(selective.passed == full.passed);
  for (std::size_t k = 0; k < targets.size(); ++k) {
    INFO("target " << k << " at " << targets[k] << " s");
    const RgbFrame &a = selective.frames[k], &b = full.frames[k];
    CHECK(a.time == b.time);
    CHECK(a.index == b.index);
    CHECK(a.width == b.width);
    CHECK(a.height == b.height);
    CHECK(a.rgb == b.rgb);  // byte for byte
  }
}

// Opening (the probe): the same first and last frame times, and the same early end, when the last
// stretch is decoded selectively as when it is decoded in full; fewer frames decoded where the codec lets
// the decoder drop some (`drops`), the same number otherwise.
void check_same_probe(const fs::path& path, bool drops) {
  VideoReader selective(path), full(path, 0, {}, false);
  CHECK(selective.info().start == full.info().start);
  CHECK(selective.info().end == full.info().end);
  CHECK(selective.read_error() == full.read_error());
  CHECK(selective.good_until() == full.good_until());
  if (drops) CHECK(selective.probe_frames_decoded() < full.probe_frames_decoded());
  else CHECK(selective.probe_frames_decoded() == full.probe_frames_decoded());
}

std::vector<double> clip_targets(const fs::path& path, double window, int num_frames) {
  VideoReader r(path);
  ClipWindowOptions o;
  o.window = o.stride = window;
  std::vector<double> targets;
  for (const auto& c : plan_clips(r.info().start, r.info().end, num_frames, o))
    targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
  return targets;
}

}  // namespace

TEST_CASE("selective decoding picks a full decode's frames byte for byte and decodes fewer frames", "[video]") {
  // B frames and pyramids (x264's defaults, normal and strict pyramids), HEVC, MPEG-4 Part 2 and MPEG-2
  // with B frames, VP9 with invisible alt-ref frames (decoded in full: selective_decoding.hpp), and
  // variable frame rates: frames dropped from a constant rate, and a rate that changes twice.
  test::TempDir tmp;
  const std::string src = "-f lavfi -i testsrc2=size=128x96:rate=25:duration=8 -pix_fmt yuv420p ";
  struct Case {
    std::string name, args;
    bool drops;  // the decoder drops non-reference frames of this codec
  };
  const std::vector<Case> cases = {
      {"x264-default.mp4", "-c:v libx264", true},
      {"x264-pyramid-normal.mkv", "-c:v libx264 -x264-params bframes=3:b-pyramid=normal", true},
      {"x264-pyramid-strict.mp4", "-c:v libx264 -x264-params bframes=3:b-pyramid=strict", true},
      {"x265.mp4", "-c:v libx265 -x265-params log-level=none", true},
      {"mpeg4-bf2.mp4", "-c:v mpeg4 -bf 2 -q:v 4", true},
      {"mpeg2-bf2.mkv", "-c:v mpeg2video -bf 2 -q:v 4", true},
      {"vp9-altref.webm", "-c:v libvpx-vp9 -deadline good -cpu-used 8 -auto-alt-ref 1 -lag-in-frames 16", false},
      {"vfr-dropped.mp4", "-vf \"select='not(between(mod(n,25),5,12))'\" -fps_mode vfr -c:v libx264", true},
      {"vfr-rates.mkv", "-vf \"setpts='if(lt(N,50),N/25,if(lt(N,100),2+(N-50)/10,7+(N-100)/50))/TB'\" -fps_mode vfr -c:v libx264", true},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const fs::path path = tmp / c.name;
    test::ffmpeg(src + c.args + " " + path.string());
    // Targets as ingest makes them (8 frames per 4 s window: every 0.5 s), and denser ones that fall on
    // every kind of frame, on a frame's time and between two.
    std::vector<double> dense;
    {
      VideoReader r(path);
      for (double t = r.info().start; t < r.info().end + 0.2; t += 0.17) dense.push_back(t);
      const auto times = r.frame_times();
      for (std::size_t i = 3; i < times.size(); i += 11) dense.push_back(times[i]);  // exactly on frames
      std::sort(dense.begin(), dense.end());
    }
    check_same_probe(path, c.drops);
    const auto ingest_targets = clip_targets(path, 4.0, 8);
    const std::vector<double>* target_sets[] = {&ingest_targets, &dense};
    for (const std::vector<double>* targets : target_sets) {
      INFO(targets->size() << " targets");
      const Chosen selective = choose_frames(path, *targets, true), full = choose_frames(path, *targets, false);
      check_same_frames(selective, full, *targets);
      CHECK(selective.errors == 0);
      // Fewer frames when the decoder drops some; more than a full decode would mean that selective
      // decoding gave up and decoded again in full, which these clean files never need.
      if (c.drops)
        CHECK(selective.decoded < full.decoded);
      else
        CHECK(selective.decoded == full.decoded);
      // Ingest's targets on x264's defaults: about half the frames are non-reference B frames, and only
      // the few picked among them are decoded.
      if (c.name == "x264-default.mp4" && targets == &ingest_targets) CHECK(selective.decoded < 0.75 * full.decoded);
    }
    // One decoding thread: frames come out of the decoder sooner after their packet, the same frames.
    if (c.name == "x264-default.mp4" || c.name == "x265.mp4")
      check_same_frames(choose_frames(path, dense, true, true, 1), choose_frames(path, dense, false, true, 1), dense);
  }
}

TEST_CASE("opening finds the last frame from a seek near the end, and a rewind the first, as decoding the whole video does", "[video]") {
  // Keyframes every second: the probe seeks to 2 s before the end and decodes about 3 s, whatever the
  // length. MP4 and Matroska seek by their index; MPEG-TS and MPEG-PS (.ts, .mts, .mpg) have none, and a
  // rewind by time lost their first second (frame_times() decodes from a rewind).
  test::TempDir tmp;
  const std::string h264 = " -c:v libx264 -g 25 ", mpeg2 = " -c:v mpeg2video -g 25 -q:v 4 ";
  const std::string h264_g75 = " -c:v libx264 -g 75 ";  // a keyframe every 3 s: past the first try's 2 s
  for (const auto& [name, codec] : std::vector<std::pair<std::string, std::string>>{
           {"g25.mp4", h264}, {"g25.mkv", h264}, {"g25.ts", h264}, {"g25.mpg", mpeg2}, {"short-4s.mp4", h264}, {"g75.ts", h264_g75}}) {
    INFO(name);
    const fs::path path = tmp / name;
    const int seconds = name == "short-4s.mp4" ? 4 : 12;
    test::ffmpeg("-f lavfi -i testsrc2=size=128x96:rate=25:duration=" + std::to_string(seconds) + " -pix_fmt yuv420p" + codec + path.string());
    VideoReader r(path);
    const std::vector<double> times = r.frame_times();  // every frame, decoded from the start
    REQUIRE(times.size() == static_cast<std::size_t>(25 * seconds));
    CHECK(r.info().start == times.front());
    CHECK(r.info().end == Approx(times.back() + 0.04).margin(1e-6));  // the last frame's time and duration
    CHECK(r.read_error().empty());
    // The first frame, and at most 3 s of frames from a keyframe (a TS with a keyframe every 3 s: the try
    // 4 s back lands before the last keyframe, at 9 s: 3 s of frames), counted on a probe decoding them all.
    CHECK(VideoReader(path, 0, {}, false).probe_frames_decoded() <= 3 * 25 + 1);
  }
}

TEST_CASE("selective decoding with seeks, and on a damaged file, still gives a full decode's frames", "[video]") {
  test::TempDir tmp;
  // Long gaps between targets make the reader seek; the reference decodes every frame through.
  const fs::path gaps = tmp / "gaps.mp4";
  test::ffmpeg("-f lavfi -i testsrc2=size=96x64:rate=25:duration=30 -pix_fmt yuv420p -c:v libx264 -g 50 " + gaps.string());
  const std::vector<double> sparse = {0.3, 0.31, 11.13, 11.5, 23.42, 29.99};
  const Chosen seeking = choose_frames(gaps, sparse, true, true), through = choose_frames(gaps, sparse, false, false);
  for (std::size_t k = 0; k < sparse.size(); ++k) {
    INFO("target " << sparse[k]);
    CHECK(seeking.frames[k].time == through.frames[k].time);
    CHECK(seeking.frames[k].rgb == through.frames[k].rgb);
  }
  check_same_frames(choose_frames(gaps, sparse, true, false), through, sparse);  // indices too, without seeks
  check_same_probe(gaps, true);  // 30 s: the probe seeks to the last 5 s and decodes from there

  // Damage in the middle: the decoder meets errors, selective decoding gives up and decodes in full.
  const fs::path good = tmp / "good.mkv";
  test::ffmpeg("-f lavfi -i testsrc2=size=128x96:rate=25:duration=8 -pix_fmt yuv420p -c:v libx264 " + good.string());
  std::string bytes = test::read_file(good);
  const std::string bytes_of_good = bytes;
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 3000; i += 7) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  const fs::path damaged = tmp / "damaged.mkv";
  test::write_file(damaged, bytes);
  const auto targets = clip_targets(damaged, 1.0, 8);
  const Chosen selective = choose_frames(damaged, targets, true), full = choose_frames(damaged, targets, false);
  CHECK(full.errors > 0);
  CHECK(selective.errors == full.errors);  // counted once
  check_same_frames(selective, full, targets);
  {  // its probe decodes to the end through the damage: the same times and early end either way
    VideoReader s(damaged), f(damaged, 0, {}, false);
    CHECK(s.info().end == f.info().end);
    CHECK(s.read_error() == f.read_error());
  }
  // Cut short at many points near its end (the last frames' packets lost or cut in half): what the probe
  // finds as the last frame and the early end are a full decode's.
  for (std::size_t cut = 40; cut < 1400; cut += 45) {
    INFO("cut " << cut << " bytes before the end");
    const fs::path cut_path = tmp / ("cut" + std::to_string(cut) + ".mkv");
    test::write_file(cut_path, bytes_of_good.substr(0, bytes_of_good.size() - cut));
    try {
      VideoReader s(cut_path), f(cut_path, 0, {}, false);
      CHECK(s.info().end == f.info().end);
      CHECK(s.read_error() == f.read_error());
    } catch (const Error&) {
      CHECK_THROWS_AS(VideoReader(cut_path, 0, {}, false), Error);  // refused both ways
    }
  }
}
