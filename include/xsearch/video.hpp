// Video decoding (FFmpeg), clip windows, frame choice and X-CLIP preprocessing. No FFmpeg or LibTorch
// types here: frames are RGB24 byte buffers and pixel values plain floats.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xsearch/error.hpp"

namespace xsearch {

// The file is readable media but holds no video to index (audio only, a still image): not a failure when
// walking a folder, just not a video.
class NotAVideoError : public Error {
 public:
  using Error::Error;
};

struct VideoInfo {
  std::filesystem::path path;
  std::string container;      // FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;          // e.g. "h264"
  int coded_width = 0, coded_height = 0;  // as stored
  int width = 0, height = 0;  // as shown: after the rotation and the sample aspect ratio
  int rotation = 0;           // clockwise degrees applied to make frames upright: 0, 90, 180 or 270
  int sar_num = 1, sar_den = 1;
  double fps = 0;             // average frame rate
  bool variable_frame_rate = false;
  double start = 0;           // presentation time of the first frame, seconds
  double end = 0;             // last frame's time plus its duration, seconds
  double duration() const { return end - start; }
};

// A decoded frame, upright, RGB24, `width * height * 3` bytes.
struct RgbFrame {
  double time = 0;    // presentation time, seconds
  int64_t index = -1; // position among all decoded frames, when the reader decoded from the start
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

struct ClipWindowOptions {
  double window = 4.0;  // seconds
  double stride = 4.0;  // seconds between window starts
  // A last window shorter than this share of `window` is dropped (unless it is the only one).
  double min_last_fraction = 0.5;
};

struct ClipWindow {
  double start = 0, end = 0;          // [start, end) in presentation seconds
  std::vector<double> target_times;   // middles of the num_frames equal segments
};

// Windows over [info.start, info.end): starts every `stride`, each `window` long, cut at the end; a video
// shorter than a window is one clip. Each window lists the middle of its num_frames segments.
std::vector<ClipWindow> plan_clips(double start, double end, int num_frames, const ClipWindowOptions& options = {});
// The whole video as one clip (what `classify` uses).
ClipWindow whole_video_clip(const VideoInfo& info, int num_frames);

class VideoReader {
 public:
  // Opens and probes `path` (first and last frame times included). Throws xsearch::Error("path: cause")
  // for a file that is missing, empty, not media, without a video stream, a single image, or undecodable.
  // `interrupted` (may be empty) is asked at each read from the file (FFmpeg's interrupt callback): once
  // it returns true, reading ends as at a read error, so that a consumer that has gone need not wait for
  // the file to be decoded (an ingest stopped by Ctrl-C). `selective`: as set_selective_decoding below, for
  // the probe's decoding of the last stretch too (it needs the last frame only).
  // `provisional_end`: for a caller that reads the whole video once with frames_at_times and can start over
  // (ingest). Where selective decoding applies, info().end is then read from packet timestamps, decoding
  // nothing, and frames_at_times confirms it on its way (video_end.cpp); when it cannot, it probes as
  // opening does, and end_revised() says whether the end differed. Otherwise the same as without.
  explicit VideoReader(const std::filesystem::path& path, int threads = 0, std::function<bool()> interrupted = {}, bool selective = true,
                       bool provisional_end = false);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;

  // For each time in `times` (ascending), the first frame whose presentation time is at or after it (the
  // last frame where none is), decoded and converted to RGB; other frames are never converted, and those
  // no time can pick are not even decoded where the codec allows (selective decoding, below).
  // Seeks forward over long gaps unless `allow_seek` is false; the frames are the same either way.
  // `on_frame(k, frame)` receives the frame for times[k]; a frame chosen for several times is passed once
  // per time.
  void frames_at_times(const std::vector<double>& times, const std::function<void(std::size_t, const RgbFrame&)>& on_frame,
                       bool allow_seek = true);
  // Selective decoding (on by default): frames_at_times lets the decoder drop the non-reference frames
  // that no time can pick (H.264, HEVC, MPEG-4 Part 2, MPEG-1/2; src/video/selective_decoding.hpp says
  // when and why the frames passed on stay, byte for byte, those of a full decode). Off: every frame is
  // decoded, as a reference for tests and benchmarks.
  void set_selective_decoding(bool on);
  // Frames by 0-based index among all decoded frames in presentation order (decodes from the start).
  std::vector<RgbFrame> frames_at_indices(const std::vector<int64_t>& indices);
  // The presentation time of every frame (decodes the whole video, converts nothing).
  std::vector<double> frame_times();

  // Frames decoded so far (frames dropped by selective decoding are not decoded) and frames converted to
  // RGB, for benchmarks and tests.
  int64_t frames_decoded() const;
  int64_t frames_converted() const;
  // Frames the probe decoded, when opening or settling a provisional end (not counted in frames_decoded()).
  int64_t probe_frames_decoded() const;
  // With `provisional_end`: true after a frames_at_times (returned or thrown) whose times were planned from
  // an end the probe then found wrong, or could not find (then end_settled() stays false and the exception
  // thrown is the probe's, as opening would have thrown it). What it passed on is to be discarded; with
  // end_settled(), info() holds the video's end, and a frames_at_times planned from it is as without
  // `provisional_end`. end_settled(): info().end is the video's (always, without `provisional_end`).
  bool end_revised() const;
  bool end_settled() const;
  // Decoding problems met and skipped (corrupt packets); a non-zero count deserves a warning.
  int64_t decode_errors() const;
  // Why frames end early (a read error; the file cut short; see video_reader.cpp), "" for a normal end.
  const std::string& read_error() const;
  // With read_error(): last good frame's time + its duration (frames_at_times stops there); else info().end.
  double good_until() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether the first bytes of a file are a container FFmpeg could hold video in (mp4, mkv, webm, avi, ts,
// ...), not an image, audio or subtitle format. Cheap: reads 64 KB, decodes nothing.
bool probe_video_container(const std::filesystem::path& path);

// The processor of preprocessor_config.json (VideoMAEImageProcessor as XCLIPProcessor uses it).
struct PreprocessorConfig {
  bool do_resize = true;
  int shortest_edge = 224;
  int resample = 2;  // PIL filter: 2 bilinear, 3 bicubic
  bool do_center_crop = true;
  int crop_height = 224, crop_width = 224;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::vector<double> image_mean = {0.485, 0.456, 0.406};
  std::vector<double> image_std = {0.229, 0.224, 0.225};

  // Reads DIR/preprocessor_config.json; a missing file gives the defaults (base-patch32's).
  static PreprocessorConfig load(const std::filesystem::path& model_dir);
  static PreprocessorConfig parse(const std::string& json_text, const std::string& source);
};

// Resizes an RGB24 image exactly as PIL's Image.resize does for 8-bit images (separable, antialiased
// when shrinking, fixed-point coefficients, horizontal pass first).
std::vector<uint8_t> pil_resize(const uint8_t* rgb, int width, int height, int out_width, int out_height, int resample);
// The (height, width) of a frame of `width` x `height` after the processor: the crop, or without one the
// resized size.
std::pair<int, int> preprocessed_size(int width, int height, const PreprocessorConfig& config);
// One frame -> channels-first floats [3, H, W] (H, W as preprocessed_size gives), appended to `out`.
void preprocess_frame(const RgbFrame& frame, const PreprocessorConfig& config, std::vector<float>& out);

}  // namespace xsearch
