// Fuzz target: a mutated small video (src/video/): the input is written to a file, opened with VideoReader
// (probe), then a few frames are taken at times across it with seeking, decoded, converted to RGB and
// preprocessed, and the container sniffing of probe_video_container runs on it too. Bad input must end in
// xsearch::Error (NotAVideoError included). Sizes are capped so that one input stays fast: a header may
// claim any frame size.
#include <cmath>
#include <vector>

#include "fuzz_util.hpp"
#include "xsearch/error.hpp"
#include "xsearch/video.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_file("video.bin", data, size);
  try {
    xsearch::probe_video_container(path);
    xsearch::VideoReader reader(path, 1);
    const auto& info = reader.info();
    // Up to 640x480 stored pixels (8K decodes would take seconds per input).
    if (info.coded_width <= 0 || info.coded_height <= 0 || info.coded_width > 640 || info.coded_height > 480) return 0;
    if (!std::isfinite(info.start) || !std::isfinite(info.end)) return 0;
    const double span = std::min(info.duration(), 3600.0);
    // Across the video; then far past its start, which makes the reader seek (it seeks over gaps of more
    // than 8 s) even in a video of two frames.
    const std::vector<double> times = {info.start, info.start + 0.25 * span, info.start + 0.5 * span, info.start + 0.99 * span};
    const std::vector<double> far = {info.start + 0.01, info.start + 9.0, info.start + 30.0};
    xsearch::PreprocessorConfig config;
    config.shortest_edge = 16;
    config.crop_height = config.crop_width = 16;
    std::vector<float> pixels;
    int64_t frames = 0;
    const auto check = [&](std::size_t, const xsearch::RgbFrame& frame) {
      // A frame is whole: width x height x 3 bytes.
      if (frame.width <= 0 || frame.height <= 0 || frame.rgb.size() != static_cast<std::size_t>(frame.width) * frame.height * 3)
        __builtin_trap();
      xsearch::preprocess_frame(frame, config, pixels);
      ++frames;
    };
    reader.frames_at_times(times, check);
    reader.frames_at_times(far, check);
    for (const auto& frame : reader.frames_at_indices({0, 1, 5})) check(0, frame);
    reader.frame_times();
  } catch (const xsearch::Error&) {
  }
  return 0;
}
