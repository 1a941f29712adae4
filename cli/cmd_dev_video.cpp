// `xsearch dev frames` and `xsearch dev clips`: the video reader and the processor, for parity checks.
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/full_exec.hpp"
#include "cli/output.hpp"
#include "xsearch/error.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/video.hpp"

namespace xsearch::cli {

namespace {

struct FramesArgs {
  std::string video, out, indices, model;
  int size = 0, crop = 0;
};

struct ClipsArgs {
  std::string video, model;
  double window = 4.0, stride = 0.0;
  int num_frames = 0;
};

#ifdef XSEARCH_FULL
std::vector<int64_t> parse_indices(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) {
    try {
      std::size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size() || v < 0) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      throw Error("--indices: \"" + item + "\" is not a frame index (0, 1, 2, ...)");
    }
  }
  if (out.empty()) throw Error("--indices: no frame index given");
  return out;
}

int run_frames(const FramesArgs& a) {
  PreprocessorConfig config = a.model.empty() ? PreprocessorConfig{} : PreprocessorConfig::load(a.model);
  if (a.size > 0) config.shortest_edge = a.size;
  if (a.crop > 0) config.crop_height = config.crop_width = a.crop;
  VideoReader reader(a.video);
  const std::vector<RgbFrame> frames = reader.frames_at_indices(parse_indices(a.indices));
  const int64_t t = static_cast<int64_t>(frames.size());
  HostTensor rgb;
  rgb.dtype = DType::U8;
  rgb.shape = {t, frames[0].height, frames[0].width, 3};
  std::vector<float> pixels;
  for (const auto& f : frames) {
    rgb.bytes.insert(rgb.bytes.end(), f.rgb.begin(), f.rgb.end());
    preprocess_frame(f, config, pixels);
  }
  const auto [h, w] = preprocessed_size(frames[0].width, frames[0].height, config);
  std::vector<int64_t> idx;
  for (const auto& f : frames) idx.push_back(f.index);
  write_safetensors(a.out, {{"frames_rgb", rgb},
                            {"pixel_values", HostTensor::from_f32({1, t, 3, h, w}, pixels)},
                            {"frame_indices", HostTensor::from_i64({t}, idx)}});
  return 0;
}

int run_clips(const ClipsArgs& a) {
  int num_frames = a.num_frames;
  if (num_frames <= 0) num_frames = 8;
  ClipWindowOptions o;
  o.window = a.window;
  o.stride = a.stride > 0 ? a.stride : a.window;
  VideoReader reader(a.video);
  const VideoInfo& info = reader.info();
  const auto clips = plan_clips(info.start, info.end, num_frames, o);
  std::vector<double> targets;
  for (const auto& c : clips) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
  std::vector<double> chosen(targets.size());
  std::vector<int64_t> indices(targets.size());
  reader.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
    chosen[k] = f.time;
    indices[k] = f.index;
  });
  nlohmann::json out = {{"video", info.path.string()},
                        {"container", info.container},
                        {"codec", info.codec},
                        {"width", info.width},
                        {"height", info.height},
                        {"rotation", info.rotation},
                        {"sample_aspect_ratio", std::to_string(info.sar_num) + ":" + std::to_string(info.sar_den)},
                        {"fps", info.fps},
                        {"variable_frame_rate", info.variable_frame_rate},
                        {"start", info.start},
                        {"end", info.end},
                        {"duration", info.duration()},
                        {"window", o.window},
                        {"stride", o.stride},
                        {"num_frames", num_frames},
                        {"clips", nlohmann::json::array()}};
  std::size_t k = 0;
  for (const auto& c : clips) {
    nlohmann::json clip = {{"start", c.start}, {"end", c.end}, {"target_times", c.target_times}};
    std::vector<double> times(chosen.begin() + static_cast<std::ptrdiff_t>(k), chosen.begin() + static_cast<std::ptrdiff_t>(k + c.target_times.size()));
    std::vector<int64_t> idx(indices.begin() + static_cast<std::ptrdiff_t>(k), indices.begin() + static_cast<std::ptrdiff_t>(k + c.target_times.size()));
    clip["frame_times"] = times;
    clip["frame_indices"] = idx;
    k += c.target_times.size();
    out["clips"].push_back(clip);
  }
  write_stdout(out.dump(1) + "\n");
  return 0;
}
#endif

}  // namespace

void add_dev_video_commands(CLI::App& dev, Runner& run) {
  auto fa = std::make_shared<FramesArgs>();
  CLI::App* frames = dev.add_subcommand("frames", "Decode frames by index; write frames_rgb and pixel_values");
  frames->add_option("video", fa->video, "Video file")->required();
  frames->add_option("--indices", fa->indices, "0-based frame indices in presentation order, e.g. 0,10,20")->required();
  frames->add_option("--out", fa->out, "safetensors file to write")->required();
  frames->add_option("--model", fa->model, "Model folder whose preprocessor_config.json to use (default: base-patch32's)");
  frames->add_option("--size", fa->size, "Shortest edge after resizing (overrides the processor's)");
  frames->add_option("--crop", fa->crop, "Center crop size (overrides the processor's)");
  frames->callback([fa, &run] { run = [fa] { return XSEARCH_FULL_ONLY(run_frames(*fa)); }; });

  auto ca = std::make_shared<ClipsArgs>();
  CLI::App* clips = dev.add_subcommand("clips", "Print a video's clip windows and chosen frame times as JSON");
  clips->add_option("video", ca->video, "Video file")->required();
  clips->add_option("--window", ca->window, "Clip length in seconds (default 4)");
  clips->add_option("--stride", ca->stride, "Seconds between clip starts (default: the window)");
  clips->add_option("--num-frames", ca->num_frames, "Frames per clip (default 8)");
  clips->callback([ca, &run] { run = [ca] { return XSEARCH_FULL_ONLY(run_clips(*ca)); }; });
}

}  // namespace xsearch::cli
