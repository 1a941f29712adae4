// Video benchmark: our reader's sampled frames/s and clips/s (decode, choose, convert, resize, crop,
// normalise) on a file, and in the same run the ffmpeg CLI doing the equivalent work
// (-vf fps=...,scale=... to null) and decoding alone.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "xsearch/video.hpp"

namespace {

double run_seconds(const std::string& cmd) {
  const auto t0 = std::chrono::steady_clock::now();
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "command failed: %s\n", cmd.c_str());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s VIDEO [WINDOW_SECONDS] [NUM_FRAMES]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const double window = argc > 2 ? std::atof(argv[2]) : 4.0;
  const int num_frames = argc > 3 ? std::atoi(argv[3]) : 8;
  const auto t0 = std::chrono::steady_clock::now();
  xsearch::VideoReader reader(path);
  const auto& info = reader.info();
  xsearch::ClipWindowOptions options;
  options.window = options.stride = window;
  const auto clips = xsearch::plan_clips(info.start, info.end, num_frames, options);
  std::vector<double> targets;
  for (const auto& c : clips) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
  const xsearch::PreprocessorConfig config;
  std::vector<float> pixels;
  std::size_t frames = 0;
  reader.frames_at_times(targets, [&](std::size_t, const xsearch::RgbFrame& f) {
    if (pixels.size() > (64u << 20)) pixels.clear();  // bounded: a real pipeline hands clips to the model
    xsearch::preprocess_frame(f, config, pixels);
    ++frames;
  });
  const double ours = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double fps_sample = num_frames / window;
  // The same sampling rate and the same resized size, from the ffmpeg CLI.
  const int scaled_w = info.width >= info.height ? static_cast<int>(224.0 * info.width / info.height) : 224;
  const int scaled_h = info.width >= info.height ? 224 : static_cast<int>(224.0 * info.height / info.width);
  char filter[128];
  std::snprintf(filter, sizeof filter, "fps=%g,scale=%d:%d:flags=bilinear", fps_sample, scaled_w, scaled_h);
  const double ff_equiv = run_seconds("ffmpeg -nostdin -loglevel error -i '" + path + "' -vf " + filter + " -f null -");
  const double ff_decode = run_seconds("ffmpeg -nostdin -loglevel error -i '" + path + "' -f null -");
  std::printf("video: %s, %dx%d, %.2f fps, %.1f s, %s\n", path.c_str(), info.width, info.height, info.fps,
              info.duration(), info.codec.c_str());
  std::printf("clips: %zu of %.1f s with %d frames; decoded %lld frames, converted %lld (%.1f%% of decoded frames used)\n",
              clips.size(), window, num_frames, static_cast<long long>(reader.frames_decoded()),
              static_cast<long long>(reader.frames_converted()),
              100.0 * reader.frames_converted() / std::max<int64_t>(1, reader.frames_decoded()));
  std::printf("xsearch reader + preprocessing: %.2f s -> %.1f sampled frames/s, %.1f clips/s\n", ours, frames / ours,
              clips.size() / ours);
  std::printf("ffmpeg -vf %s: %.2f s (ours / ffmpeg time: %.2f)\n", filter, ff_equiv, ours / ff_equiv);
  std::printf("ffmpeg decode only: %.2f s (ours / decode-only time: %.2f)\n", ff_decode, ours / ff_decode);
  return 0;
}
