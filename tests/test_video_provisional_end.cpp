// A reader opened with a provisional end (what ingest does, video_end.cpp): the end read from packet
// timestamps, confirmed by the pass that chooses the frames, or probed after all and planned again. Every
// result must be what the probe's end gives: the end, the frames passed on, byte for byte, the early end,
// the errors counted. And the probe's decoding is saved where the pass confirms the end.
extern "C" {
#include <libavformat/avformat.h>
}

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"
#include "xsearch/video.hpp"

using namespace xsearch;
using xsearch::test::quote;
namespace fs = std::filesystem;

namespace {

// What ingest's decoder gets from a video: plans clips of `window` seconds (8 frames each) from the end the
// reader gives, passes on their frames, and plans again when the reader says the end was revised.
struct AsIngest {
  VideoInfo info;
  std::vector<std::size_t> k;
  std::vector<RgbFrame> frames;
  std::string read_error, error;
  double good_until = 0;
  int64_t errors = 0, probe_decoded = 0, decoded = 0;  // decoded: every frame, the probe's included
  int restarts = 0;
  bool settled_before_pass = true;
};

AsIngest as_ingest(const fs::path& path, bool provisional, double window = 4.0, double stride = 0) {
  AsIngest a;
  try {
    VideoReader r(path, 0, {}, true, provisional);
    a.settled_before_pass = r.end_settled();
    ClipWindowOptions o;
    o.window = window;
    o.stride = stride > 0 ? stride : window;
    for (;;) {
      a.info = r.info();
      a.k.clear();
      a.frames.clear();
      std::vector<double> targets;
      for (const auto& c : plan_clips(r.info().start, r.info().end, 8, o)) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
      try {
        r.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
          a.k.push_back(k);
          a.frames.push_back(f);
        });
      } catch (const Error&) {
        if (!r.end_revised()) throw;
        ++a.restarts;
        if (!r.end_settled()) throw;
        continue;
      }
      if (!r.end_revised()) break;
      ++a.restarts;
    }
    CHECK(r.end_settled());
    a.read_error = r.read_error();
    a.good_until = r.good_until();
    a.errors = r.decode_errors();
    a.probe_decoded = r.probe_frames_decoded();
    a.decoded = r.frames_decoded() + a.probe_decoded;
  } catch (const Error& e) {
    a.error = e.what();
  }
  return a;
}

void check_same(const AsIngest& got, const AsIngest& want) {
  CHECK(got.error == want.error);
  CHECK(got.info.start == want.info.start);
  CHECK(got.info.end == want.info.end);  // exactly: the clips are planned from it
  CHECK(got.read_error == want.read_error);
  CHECK(got.good_until == want.good_until);
  CHECK(got.errors == want.errors);
  REQUIRE(got.k == want.k);
  for (std::size_t i = 0; i < got.frames.size(); ++i) {
    INFO("target " << got.k[i]);
    CHECK(got.frames[i].time == want.frames[i].time);
    CHECK(got.frames[i].index == want.frames[i].index);
    CHECK(got.frames[i].rgb == want.frames[i].rgb);  // byte for byte
  }
}

// Overwrites with zeros the data of one video packet: the one with the largest timestamp (the last frame
// shown), or the one nearest `at` seconds. The container still lists it, with its time; the decoder can make
// nothing of it.
void zero_frame(const fs::path& path, double at = -1) {
  AVFormatContext* fmt = nullptr;
  REQUIRE(avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) == 0);
  REQUIRE(avformat_find_stream_info(fmt, nullptr) >= 0);
  const int video = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  REQUIRE(video >= 0);
  const double time_base = av_q2d(fmt->streams[video]->time_base);
  AVPacket* packet = av_packet_alloc();
  double best = -1;
  int64_t pos = -1, size = 0;
  while (av_read_frame(fmt, packet) >= 0) {
    if (packet->stream_index == video && packet->pts != AV_NOPTS_VALUE) {
      const double t = packet->pts * time_base;
      const double score = at < 0 ? t : -std::fabs(t - at);
      if (pos < 0 || score > best) {
        best = score;
        pos = packet->pos;
        size = packet->size;
      }
    }
    av_packet_unref(packet);
  }
  av_packet_free(&packet);
  avformat_close_input(&fmt);
  REQUIRE(pos > 0);
  std::string bytes = test::read_file(path);
  REQUIRE(static_cast<std::size_t>(pos + size) <= bytes.size());
  std::fill(bytes.begin() + pos, bytes.begin() + pos + size, '\0');
  test::write_file(path, bytes);
}

}  // namespace

TEST_CASE("a provisional end is the probe's, confirmed by the pass without probing, on every codec and container", "[video]") {
  // The codecs of the selective-decoding test, the containers of the opening test (MPEG-TS and MPEG-PS
  // have no index), a 6 s video that is one GOP (x264's keyframe interval of 250: the probe decodes it
  // all), and VP9, which selective decoding leaves alone. VP9 and the MPEG-PS file, whose B frames' packets
  // carry no timestamp, are probed on opening, as before.
  test::TempDir tmp;
  const std::string src = "-f lavfi -i testsrc2=size=128x96:rate=25:duration=";
  struct Case {
    std::string name, args;
    double seconds;
    bool provisional;
  };
  const std::vector<Case> cases = {
      {"x264-default.mp4", "-c:v libx264", 8, true},
      {"x264-pyramid-strict.mkv", "-c:v libx264 -x264-params bframes=3:b-pyramid=strict", 8, true},
      {"x265.mp4", "-c:v libx265 -x265-params log-level=none", 8, true},
      {"mpeg4-bf2.mp4", "-c:v mpeg4 -bf 2 -q:v 4", 8, true},
      {"mpeg2-bf2.mkv", "-c:v mpeg2video -bf 2 -q:v 4", 8, true},
      {"vfr-dropped.mp4", "-vf \"select='not(between(mod(n,25),5,12))'\" -fps_mode vfr -c:v libx264", 8, true},
      {"vfr-rates.mkv", "-vf \"setpts='if(lt(N,50),N/25,if(lt(N,100),2+(N-50)/10,7+(N-100)/50))/TB'\" -fps_mode vfr -c:v libx264", 8, true},
      {"g25.ts", "-c:v libx264 -g 25", 12, true},
      {"g75.ts", "-c:v libx264 -g 75", 12, true},
      {"g25.mpg", "-c:v mpeg2video -g 25 -q:v 4", 12, false},  // MPEG-PS: packets without timestamps
      {"short-2s.mp4", "-c:v libx264", 2, true},
      {"one-gop-6s.mp4", "-c:v libx264 -preset veryfast", 6, true},
      // 9.8 s: the last 1.8 s is under half a window, so the pass decodes on for 2.05 s past its last target,
      // less than the probe would (the whole 10 s GOP).
      {"one-gop-9.8s.mp4", "-c:v libx264", 9.8, true},
      {"vp9.webm", "-c:v libvpx-vp9 -deadline good -cpu-used 8", 4, false},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const fs::path path = tmp / c.name;
    test::ffmpeg(src + std::to_string(c.seconds) + " -pix_fmt yuv420p " + c.args + " " + path.string());
    INFO(c.seconds << " s");
    for (const double window : {4.0, 1.0}) {
      INFO("window " << window);
      const AsIngest probed = as_ingest(path, false, window), provisional = as_ingest(path, true, window);
      REQUIRE(probed.error.empty());
      check_same(provisional, probed);
      CHECK(provisional.restarts == 0);
      CHECK(provisional.settled_before_pass == !c.provisional);
      // Confirmed by the pass: no probe ran, opening decoded the first frame only, and the few frames the
      // pass decodes on to the end cost less than the probe.
      if (c.provisional) {
        CHECK(provisional.probe_decoded == 1);
        CHECK(probed.probe_decoded > 1);
        CHECK(provisional.decoded < probed.decoded);
      } else {
        CHECK(provisional.probe_decoded == probed.probe_decoded);
      }
    }
  }
}

TEST_CASE("a provisional end that decoding does not bear out is probed, and the clips planned again from the probe's end", "[video]") {
  test::TempDir tmp;
  // The last frame's data zeroed: its packet says the video ends at 10.00 s, the decoder gives nothing for
  // it and the video ends at 9.96 s. With 4 s windows that is one clip fewer (the last 1.96 s is under half
  // a window), and every clip's end moves.
  const fs::path zeroed = tmp / "zeroed-last.mp4";
  test::ffmpeg("-f lavfi -i testsrc2=size=128x96:rate=25:duration=10 -pix_fmt yuv420p -c:v libx264 -bf 0 " + zeroed.string());
  zero_frame(zeroed);
  {
    const AsIngest probed = as_ingest(zeroed, false), provisional = as_ingest(zeroed, true);
    CHECK(probed.info.end == Approx(9.96).margin(1e-6));
    check_same(provisional, probed);
    CHECK(provisional.restarts == 1);
    CHECK(provisional.errors == 0);  // the void pass's error is not counted: the pass planned again met none
    VideoReader r(zeroed, 0, {}, true, true);
    CHECK(r.info().end == Approx(10.0).margin(1e-6));  // what the packets say
  }
  {  // 1 s windows: the last target's frame is the zeroed one, and the pass itself meets its error
    const AsIngest probed = as_ingest(zeroed, false, 1.0), provisional = as_ingest(zeroed, true, 1.0);
    check_same(provisional, probed);
    CHECK(provisional.restarts == 1);
    CHECK(provisional.errors == 0);
  }
  // Damage in the middle (selective decoding gives up and decodes in full), and a file cut at many points
  // near its end (the last packets lost or cut in half): the same as the probe's end gives, whether the
  // pass confirmed the end, the probe confirmed it, or the clips were planned again.
  const fs::path good = tmp / "good.mkv";
  test::ffmpeg("-f lavfi -i testsrc2=size=128x96:rate=25:duration=8 -pix_fmt yuv420p -c:v libx264 " + good.string());
  const std::string bytes = test::read_file(good);
  std::string damaged = bytes;
  for (std::size_t i = damaged.size() / 2; i < damaged.size() / 2 + 3000; i += 7) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
  test::write_file(tmp / "damaged.mkv", damaged);
  {
    const AsIngest probed = as_ingest(tmp / "damaged.mkv", false, 1.0), provisional = as_ingest(tmp / "damaged.mkv", true, 1.0);
    CHECK(probed.errors > 0);
    check_same(provisional, probed);
  }
  int restarted = 0;
  for (std::size_t cut = 40; cut < 1400; cut += 45) {
    INFO("cut " << cut << " bytes before the end");
    const fs::path cut_path = tmp / ("cut" + std::to_string(cut) + ".mkv");
    test::write_file(cut_path, bytes.substr(0, bytes.size() - cut));
    const AsIngest probed = as_ingest(cut_path, false, 1.0), provisional = as_ingest(cut_path, true, 1.0);
    check_same(provisional, probed);
    restarted += provisional.restarts;
  }
  WARN(restarted << " of the 31 cut files planned again");
}

TEST_CASE("a provisional end: what the pass decodes on is no part of it, and odd files are probed as before", "[video]") {
  test::TempDir tmp;
  const std::string src = "-f lavfi -i testsrc2=size=160x120:rate=30 -pix_fmt yuv420p -c:v libx264 ";
  // Presentation times a constant two frames after the decoding times, one of them set back to its
  // decoding time: FFmpeg's best-effort timestamps switch from the one to the other after enough faults,
  // and its count of faults survives a seek. The probe after a pass runs on a fresh decoder, as on opening,
  // or it finds another end (and a clip is lost).
  const fs::path plain_ts = tmp / "plain.ts", odd_ts = tmp / "odd-pts.ts";
  test::ffmpeg(src + "-t 10 -g 30 -bf 0 -f mpegts " + plain_ts.string());
  test::ffmpeg("-i " + plain_ts.string() + " -c copy -bsf:v \"setts=dts=DTS-6000:pts=if(eq(N\\,60)\\,DTS-6000\\,PTS)\" -f mpegts " +
               odd_ts.string());
  {
    const AsIngest probed = as_ingest(odd_ts, false), provisional = as_ingest(odd_ts, true);
    check_same(provisional, probed);
    CHECK(provisional.restarts == 0);
    // Each pass from the start decodes as a fresh decoder would: a second pass on the same reader times
    // and picks the same frames as the first.
    VideoReader r(odd_ts);
    const std::vector<double> first = r.frame_times(), second = r.frame_times();
    CHECK(first == second);
  }
  // Damage after the last clip's frames (the last window is dropped: 9.5 s, 4 s windows, so the pass
  // decodes on from 7.75 s): a frame at 8.5 s zeroed, which the decoder refuses (an error) and the frames
  // after it borrow from. The old pass never decoded it, so its error is no warning now either, and the
  // probe settles the end. Or the last 10% of the bytes garbled: an end the probe finds earlier.
  const fs::path tail = tmp / "damaged-tail.mp4";
  test::ffmpeg(src + "-t 9.5 -bf 0 -movflags +faststart " + tail.string());
  const std::string tail_bytes = test::read_file(tail);
  std::string garbled = tail_bytes;
  for (std::size_t i = garbled.size() * 90 / 100; i < garbled.size(); i += 3) garbled[i] = static_cast<char>(garbled[i] * 31 + 7);
  test::write_file(tmp / "garbled-tail.mp4", garbled);
  zero_frame(tail, 8.5);
  for (const fs::path& damaged : {tail, tmp / "garbled-tail.mp4"}) {
    INFO(damaged.filename());
    const AsIngest probed = as_ingest(damaged, false), provisional = as_ingest(damaged, true);
    check_same(provisional, probed);
    CHECK(provisional.errors == probed.errors);
    CHECK(provisional.probe_decoded > 1);  // the pass could not confirm the end
    if (damaged == tail) {
      CHECK(probed.errors == 0);
      CHECK(provisional.restarts == 0);
    }
  }
  // A faststart MP4 cut short: its index lists packets past the cut (cut in half or missing) and announces
  // the whole length: probed on opening, as before, not planned twice.
  // So is a Matroska file cut to 60%: its packets end cleanly, 40% before its header's duration.
  const fs::path whole_mkv = tmp / "whole.mkv";
  test::ffmpeg(src + "-t 10 -g 30 " + whole_mkv.string());
  for (const auto& [name, bytes] : {std::pair<std::string, std::string>{"cut-faststart.mp4", tail_bytes},
                                    std::pair<std::string, std::string>{"cut.mkv", test::read_file(whole_mkv)}}) {
    INFO(name);
    const fs::path cut = tmp / name;
    test::write_file(cut, bytes.substr(0, bytes.size() * 6 / 10));
    const AsIngest probed = as_ingest(cut, false), provisional = as_ingest(cut, true);
    check_same(provisional, probed);
    CHECK_THAT(provisional.read_error, Catch::Contains("cut short"));
    CHECK(provisional.settled_before_pass);
    CHECK(provisional.restarts == 0);
  }
  // A sparse stride leaves most of a long video after the last clip: the probe, which seeks, confirms its
  // end rather than decoding on for 36 s.
  const fs::path sparse = tmp / "sparse.mp4";
  test::ffmpeg(src + "-t 40 -g 30 " + sparse.string());
  {
    const AsIngest probed = as_ingest(sparse, false, 4.0, 30.0), provisional = as_ingest(sparse, true, 4.0, 30.0);
    check_same(provisional, probed);
    CHECK(provisional.probe_decoded > 1);
    CHECK(provisional.decoded <= probed.decoded + 2);
  }
}

TEST_CASE("ingest stores a video whose last frame does not decode with the clips of its real end", "[cli][index][video]") {
  // The reader's restart seen from the command line: the clips sent before the end was found wrong are
  // withdrawn (none stored twice, none from the wrong plan), and the void pass's error is no warning.
  test::TempDir tmp;
  fs::create_directories(tmp / "videos");
  const fs::path video = tmp / "videos" / "zeroed-last.mp4";
  test::ffmpeg("-f lavfi -i testsrc2=size=128x96:rate=25:duration=10 -pix_fmt yuv420p -c:v libx264 -bf 0 " + quote(video.string()));
  zero_frame(video);
  test::make_video(tmp / "videos" / "fine.mp4", "mandelbrot", 6);
  const auto db = tmp / "lib.db";
  const test::Result r = test::xsearch_run("ingest " + quote((tmp / "videos").string()) + test::db_arg(db) + test::model_arg() + " --json");
  INFO(r.err);
  CHECK(r.status == 0);
  const auto s = nlohmann::json::parse(r.out);
  CHECK(s["indexed"] == 2);
  CHECK(s["clips"] == 4);  // 2 + 2
  const std::string of_zeroed = " FROM clips WHERE video_id = (SELECT id FROM videos WHERE path LIKE '%zeroed-last.mp4')";
  CHECK(test::sqlite_value(db, "SELECT count(*)" + of_zeroed) == "2");
  CHECK(test::sqlite_value(db, "SELECT group_concat(printf('%.2f-%.2f', start, end), ' ') FROM (SELECT start, end" + of_zeroed + " ORDER BY start)") ==
        "0.00-4.00 4.00-8.00");
  CHECK(std::atof(test::sqlite_value(db, "SELECT duration FROM videos WHERE path LIKE '%zeroed-last.mp4'").c_str()) == Approx(9.96).margin(1e-6));
}
