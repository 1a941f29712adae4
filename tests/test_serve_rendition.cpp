// `xsearch serve` and a video a browser cannot play: an MPEG-4 Part 2 AVI made with FFmpeg's own encoder
// is played through a rendition of the segment (H.264 in MP4 here), made on first request and cached.
#include <chrono>

#include "media/encoder_choice.hpp"
#include "media/rendition.hpp"
#include "media_probe.hpp"
#include "serve_client.hpp"
#include "xsearch/media_cache.hpp"

using namespace xsearch;
using test::fs::path;
using test::http_get;
using test::quote;

TEST_CASE("serve plays an MPEG-4 Part 2 AVI through a cached H.264 rendition of the segment", "[serve]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  test::make_video(videos / "direct.mp4", "testsrc2", 8);
  test::fs::create_directories(videos);
  // 12 s at 25 frames per second, a keyframe every 2 s, with MP3 audio: neither container nor codec plays.
  test::ffmpeg("-f lavfi -i smptebars=size=320x240:rate=25 -f lavfi -i sine=sample_rate=44100 -t 12 -c:v mpeg4 -q:v 4 -g 50 -c:a libmp3lame " +
               quote((videos / "old.avi").string()));
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote(videos.string()) + " --db " + quote(db.string()) + test::model_arg(), 0);

  test::Server server(db, tmp / "serve.out");
  const auto q = nlohmann::json::parse(http_get(server.port, "/api/query?q=colour%20bars&k=10").body);
  const nlohmann::json* avi = nullptr;
  const nlohmann::json* mp4 = nullptr;
  for (const auto& r : q["results"]) {
    if (r["path"] == (videos / "old.avi").string() && !avi) avi = &r;
    if (r["path"] == (videos / "direct.mp4").string() && !mp4) mp4 = &r;
  }
  REQUIRE(avi);
  REQUIRE(mp4);
  // A playable file is played as it is, from the segment's best moment (its peak) to the segment's end.
  CHECK((*mp4)["play"]["rendition"] == false);
  CHECK((*mp4)["play"]["url"] == (*mp4)["video"]);
  CHECK((*mp4)["play"]["start"] == (*mp4)["peak"]);
  CHECK((*mp4)["play"]["end"] == (*mp4)["end"]);

  const auto& play = (*avi)["play"];
  REQUIRE(play["rendition"] == true);
  CHECK_THAT(play["reason"].get<std::string>(), Catch::Contains("avi"));
  const auto ids = (*avi)["clip_ids"];
  const std::string url = "/api/renditions/" + std::to_string(ids.front().get<int64_t>()) + "-" + std::to_string(ids.back().get<int64_t>());
  CHECK(play["url"] == url);
  const double length = (*avi)["end"].get<double>() - (*avi)["start"].get<double>();
  // The rendition's time 0 is the segment's start; playback starts at the peak in it.
  CHECK(play["start"].get<double>() == Approx((*avi)["peak"].get<double>() - (*avi)["start"].get<double>()));
  CHECK(play["segment_start"] == 0.0);
  CHECK(play["end"].get<double>() == Approx(length));

  const auto t0 = std::chrono::steady_clock::now();
  const test::Reply made = http_get(server.port, url);
  const double first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(made.status == 200);
  const media::EncoderChoice encoder = media::choose_encoder();
  CHECK_THAT(made.headers, Catch::Contains("Content-Type: " + encoder.mime));

  // The cached file is what was served; it probes as the chosen codec, the segment's length within a frame.
  const path cached = rendition_path(db, (*avi)["video_id"], ids.front(), ids.back(), encoder.extension);
  REQUIRE(test::fs::exists(cached));
  CHECK(test::read_file(cached) == made.body);
  const test::Probed p = test::probe_media(cached);
  CHECK(p.video_codec == encoder.codec);
  CHECK(p.duration == Approx(length).margin(1.0 / 25));
  CHECK(static_cast<double>(p.frames.size()) == Approx(length * 25).margin(1));
  CHECK(p.frames.front().time == Approx(0).margin(1e-3));
  CHECK(p.audio_streams == 1);  // the MP3 sound, copied: browsers play MP3 in MP4
  CHECK(p.height == 240);

  // From the cache: the same bytes, ranges answered with 206.
  const auto t1 = std::chrono::steady_clock::now();
  const test::Reply again = http_get(server.port, url);
  const double cached_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  CHECK(again.body == made.body);
  const test::Reply range = http_get(server.port, url, "Range: bytes=100-199\r\n");
  CHECK(range.status == 206);
  CHECK(range.body == made.body.substr(100, 100));
  WARN("rendition of " << length << " s of 320x240 MPEG-4 Part 2: " << first_ms << " ms to make, " << cached_ms << " ms from the cache");

  // Clips of two videos, or in reverse, are no segment; unknown clips are 404.
  const std::string other = std::to_string((*mp4)["clip_ids"].front().get<int64_t>());
  CHECK(http_get(server.port, "/api/renditions/" + std::to_string(ids.front().get<int64_t>()) + "-" + other).status == 400);
  CHECK(http_get(server.port, "/api/renditions/999998-999999").status == 404);

  // "Keep watching": what follows a rendition, clip after clip, to the video's end (12 s: three clips).
  const Library lib = Library::open(db, LibraryOpenOptions{});
  const ClipRow hit_first = lib.clips_of_video((*avi)["video_id"]).front();
  const auto after_first = nlohmann::json::parse(
      http_get(server.port, "/api/more/" + std::to_string(hit_first.id) + "-" + std::to_string(hit_first.id)).body);
  REQUIRE(after_first.contains("more"));
  const std::string next = after_first["more"];  // clips 2 and 3: 8 s, under the 30 s of a step
  CHECK(next == "/api/renditions/" + std::to_string(hit_first.id + 1) + "-" + std::to_string(hit_first.id + 2));
  const auto at_end = nlohmann::json::parse(http_get(server.port, "/api/more/" + next.substr(next.rfind('/') + 1)).body);
  CHECK(at_end.empty());
  CHECK(http_get(server.port, "/api/more/999998-999999").status == 404);

  // A segment longer than the limit is cut there: whatever its last clip, the same picture, so one file
  // (FIRST-0), never one per pair of clips (a page could otherwise ask for N^2 / 2 renditions of a video).
  ClipRow first;
  first.id = ids.front();
  first.video_id = (*avi)["video_id"];
  first.path = (videos / "old.avi").string();
  first.start = (*avi)["start"];
  first.end = first.start + 4;
  ClipRow far = first, farther = first;
  far.id = 1000, far.start = first.start + 200, far.end = first.start + 204;
  farther.id = 1001, farther.start = first.start + 300, farther.end = first.start + 304;
  const media::Rendition capped = media::segment_rendition(lib, first, far);
  CHECK(capped.file == rendition_path(db, first.video_id, first.id, 0, encoder.extension));
  CHECK(capped.end == Approx(first.start + media::kMaxRenditionSeconds));
  CHECK_FALSE(capped.from_cache);
  const media::Rendition same = media::segment_rendition(lib, first, farther);
  CHECK(same.file == capped.file);
  CHECK(same.from_cache);
}
