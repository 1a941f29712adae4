// Video benchmark: our reader's sampled frames/s and clips/s (decode, choose, convert, resize, crop,
// normalise) on a file, and in the same run the ffmpeg CLI doing the equivalent work
// (-vf fps=...,scale=... to null) and decoding alone. Then decoding for the same targets on one thread,
// every frame against selective decoding (only what the targets need), with the frames decoded, against
// `ffmpeg -threads 1` decoding every frame and with `-skip_frame noref`.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "xsearch/video.hpp"

namespace {

double run_seconds(const std::string& cmd) {
  const auto t0 = std::chrono::steady_clock::now();
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "command failed: %s\n", cmd.c_str());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The machine, for the record: CPU model, cores, load.
std::string machine() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  int cores = 0;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      model = line.substr(line.find(':') + 2);
      ++cores;
    }
  }
  std::ifstream load_file("/proc/loadavg");
  std::string load;
  load_file >> load;
  return model + ", " + std::to_string(cores) + " cores, load " + load;
}

// Wall and CPU seconds: on a shared machine the CPU time of one decoding thread moves less than the wall
// time when other work takes the cores.
struct Timing {
  double wall = 0, cpu = 0;
};

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A command's wall time and the CPU time of its processes (waited-for children).
Timing run_timed(const std::string& cmd) {
  const double cpu0 = cpu_seconds(RUSAGE_CHILDREN);
  const double wall = run_seconds(cmd);
  return {wall, cpu_seconds(RUSAGE_CHILDREN) - cpu0};
}

// Decoding alone for `targets` (the chosen frames are converted to RGB, nothing else): the time and the
// frames decoded. The probe when opening is not timed.
std::pair<Timing, int64_t> decode_for_targets(const std::string& path, const std::vector<double>& targets, int threads, bool selective) {
  xsearch::VideoReader reader(path, threads);
  reader.set_selective_decoding(selective);
  const double cpu0 = cpu_seconds(RUSAGE_SELF);
  const auto t0 = std::chrono::steady_clock::now();
  reader.frames_at_times(targets, [](std::size_t, const xsearch::RgbFrame&) {});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {{wall, cpu_seconds(RUSAGE_SELF) - cpu0}, reader.frames_decoded()};
}

// Opening alone (the probe: the first frame, and the last one decoded from the last keyframe before the
// final 2 s, or from the start on a video of 3 s or less): the time and the frames the probe decoded.
std::pair<Timing, int64_t> open_probe(const std::string& path, bool selective) {
  const double cpu0 = cpu_seconds(RUSAGE_SELF);
  const auto t0 = std::chrono::steady_clock::now();
  xsearch::VideoReader reader(path, 1, {}, selective);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {{wall, cpu_seconds(RUSAGE_SELF) - cpu0}, reader.probe_frames_decoded()};
}

// Opening and choosing the clips' frames, as ingest does, one thread: the probe finds the end when opening,
// or (`provisional`) the end is read from packets and the pass confirms it (src/video/video_end.cpp). The
// time, and every frame decoded (the probe's included).
std::pair<Timing, int64_t> open_and_choose(const std::string& path, double window, int num_frames, bool provisional) {
  const double cpu0 = cpu_seconds(RUSAGE_SELF);
  const auto t0 = std::chrono::steady_clock::now();
  xsearch::VideoReader reader(path, 1, {}, true, provisional);
  xsearch::ClipWindowOptions options;
  options.window = options.stride = window;
  std::vector<double> targets;
  for (const auto& c : xsearch::plan_clips(reader.info().start, reader.info().end, num_frames, options))
    targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
  reader.frames_at_times(targets, [](std::size_t, const xsearch::RgbFrame&) {});
  if (reader.end_revised()) std::fprintf(stderr, "bench-video: the provisional end was revised (the pass is not planned again here)\n");
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {{wall, cpu_seconds(RUSAGE_SELF) - cpu0}, reader.frames_decoded() + reader.probe_frames_decoded()};
}

// Medians of wall and CPU times.
Timing median(const std::vector<Timing>& runs) {
  std::vector<double> wall, cpu;
  for (const Timing& t : runs) {
    wall.push_back(t.wall);
    cpu.push_back(t.cpu);
  }
  return {median(wall), median(cpu)};
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

  // Full against selective decoding, one thread as `ffmpeg -threads 1`, runs interleaved (the machine may
  // be shared), medians of `repeats`.
  const int repeats = 3;
  std::vector<Timing> t_full, t_selective, t_ff, t_ff_noref, t_probe_full, t_probe_selective, t_probed, t_provisional;
  int64_t n_full = 0, n_selective = 0, n_probe_full = 0, n_probe_selective = 0, n_probed = 0, n_provisional = 0;
  const std::string ff = "ffmpeg -nostdin -loglevel error -threads 1 ";
  for (int r = 0; r < repeats; ++r) {
    const auto full = decode_for_targets(path, targets, 1, false);
    const auto selective = decode_for_targets(path, targets, 1, true);
    t_full.push_back(full.first);
    t_selective.push_back(selective.first);
    n_full = full.second;
    n_selective = selective.second;
    const auto probe_full = open_probe(path, false), probe_selective = open_probe(path, true);
    t_probe_full.push_back(probe_full.first);
    t_probe_selective.push_back(probe_selective.first);
    n_probe_full = probe_full.second;
    n_probe_selective = probe_selective.second;
    const auto probed = open_and_choose(path, window, num_frames, false), provisional = open_and_choose(path, window, num_frames, true);
    t_probed.push_back(probed.first);
    t_provisional.push_back(provisional.first);
    n_probed = probed.second;
    n_provisional = provisional.second;
    t_ff.push_back(run_timed(ff + "-i '" + path + "' -f null -"));
    t_ff_noref.push_back(run_timed(ff + "-skip_frame noref -i '" + path + "' -f null -"));
  }
  const Timing full = median(t_full), selective = median(t_selective), ff_all = median(t_ff), ff_noref = median(t_ff_noref);
  const std::size_t total = xsearch::VideoReader(path).frame_times().size();  // every frame of the video
  std::printf("machine: %s\n", machine().c_str());
  std::printf("decoding for the %zu targets, 1 thread, median of %d interleaved runs, wall (CPU) seconds:\n", targets.size(), repeats);
  // Both stop after the last target's frame, so the full decode may leave the last few frames out.
  std::printf("  full decode:       %.2f (%.2f) s, %lld of %zu frames decoded\n", full.wall, full.cpu, static_cast<long long>(n_full),
              total);
  std::printf("  selective decode:  %.2f (%.2f) s, %lld of %zu frames decoded (%.1f%%; %.1f%% of the full decode's); speed-up %.2fx (%.2fx)\n",
              selective.wall, selective.cpu, static_cast<long long>(n_selective), total, 100.0 * n_selective / std::max<std::size_t>(1, total),
              100.0 * n_selective / std::max<int64_t>(1, n_full), full.wall / selective.wall, full.cpu / selective.cpu);
  std::printf("  ffmpeg -threads 1 -f null:                    %.2f (%.2f) s; full / ffmpeg %.2f (%.2f)\n", ff_all.wall, ff_all.cpu,
              full.wall / ff_all.wall, full.cpu / ff_all.cpu);
  std::printf("  ffmpeg -threads 1 -skip_frame noref -f null:  %.2f (%.2f) s; selective / ffmpeg noref %.2f (%.2f); ffmpeg's speed-up %.2fx (%.2fx)\n",
              ff_noref.wall, ff_noref.cpu, selective.wall / ff_noref.wall, selective.cpu / ff_noref.cpu, ff_all.wall / ff_noref.wall,
              ff_all.cpu / ff_noref.cpu);
  const Timing probe_full = median(t_probe_full), probe_selective = median(t_probe_selective);
  std::printf("opening (the probe finds the last frame), 1 thread: in full %.2f (%.2f) s, %lld frames decoded; selectively %.2f (%.2f) s, "
              "%lld frames; speed-up %.2fx (%.2fx)\n",
              probe_full.wall, probe_full.cpu, static_cast<long long>(n_probe_full), probe_selective.wall, probe_selective.cpu,
              static_cast<long long>(n_probe_selective), probe_full.wall / probe_selective.wall, probe_full.cpu / probe_selective.cpu);
  const Timing probed = median(t_probed), provisional = median(t_provisional);
  std::printf("opening and choosing as ingest does, 1 thread: the probe's end %.2f (%.2f) s, %lld frames decoded; the end from packets, "
              "confirmed by the pass, %.2f (%.2f) s, %lld frames; speed-up %.2fx (%.2fx)\n",
              probed.wall, probed.cpu, static_cast<long long>(n_probed), provisional.wall, provisional.cpu, static_cast<long long>(n_provisional),
              probed.wall / provisional.wall, probed.cpu / provisional.cpu);
  return 0;
}
