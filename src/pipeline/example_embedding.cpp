// The example embedder of `query --image` and `--video` (xsearch/query.hpp): a still repeated to the
// model's frame count, or one clip of any video planned and sampled as ingest does, preprocessed like
// ingest's frames and embedded by the vision tower. LibTorch and FFmpeg: the full pipeline only.
#include <cmath>
#include <cstdio>
#include <memory>
#include <tuple>

#include "video/still_image.hpp"
#include "xsearch/fingerprint.hpp"
#include "xsearch/model.hpp"
#include "xsearch/query.hpp"
#include "xsearch/video.hpp"

namespace xsearch {

namespace {

std::string seconds_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", v);
  return buf;
}

// The clip of `clips` that holds `t` (the first, when windows overlap), else the one starting nearest.
const ClipWindow& clip_holding(const std::vector<ClipWindow>& clips, double t) {
  const ClipWindow* best = &clips.front();
  for (const auto& c : clips) {
    if (c.start <= t && t < c.end) return c;
    if (std::fabs(c.start - t) < std::fabs(best->start - t)) best = &c;
  }
  return *best;
}

ExampleEmbedding embed(const ExampleRequest& r) {
  ModelOptions mo;
  mo.device = r.device;
  mo.threads = r.threads;
  mo.parts = ModelParts::Video;
  const Model model = Model::load(r.model_dir, mo);
  const PreprocessorConfig pre = PreprocessorConfig::load(r.model_dir);
  const int frames = static_cast<int>(model.config().vision_config.num_frames);
  ExampleEmbedding out;
  std::vector<float> pixels;
  int height = 0, width = 0;
  if (r.image) {
    const RgbFrame still = read_still_image(r.path);
    std::tie(height, width) = preprocessed_size(still.width, still.height, pre);
    std::vector<float> one;
    preprocess_frame(still, pre, one);
    // The model reads `frames` frames: a still is a clip in which nothing moves.
    pixels.reserve(one.size() * static_cast<std::size_t>(frames));
    for (int f = 0; f < frames; ++f) pixels.insert(pixels.end(), one.begin(), one.end());
  } else {
    std::unique_ptr<VideoReader> opened;
    try {
      opened = std::make_unique<VideoReader>(r.path);
    } catch (const NotAVideoError& e) {
      throw Error(std::string(e.what()) + " (--image searches with a still)");
    }
    VideoReader& reader = *opened;
    ClipWindowOptions rule;
    rule.window = r.window;
    rule.stride = r.stride;
    const auto clips = plan_clips(reader.info().start, reader.info().end, frames, rule);
    if (clips.empty()) throw Error(r.path.string() + ": the video has no duration");
    const ClipWindow& clip = clip_holding(clips, r.seconds);
    out.start = clip.start;
    out.end = clip.end;
    out.duration = reader.info().duration();
    std::size_t got = 0;
    reader.frames_at_times(clip.target_times, [&](std::size_t, const RgbFrame& f) {
      if (got++ == 0) std::tie(height, width) = preprocessed_size(f.width, f.height, pre);
      preprocess_frame(f, pre, pixels);
    });
    if (got != clip.target_times.size())
      throw Error(r.path.string() + ": the clip " + seconds_text(clip.start) + "-" + seconds_text(clip.end) + " cannot be decoded" +
                  (reader.read_error().empty() ? std::string() : " (" + reader.read_error() + ")"));
  }
  const auto& vc = model.config().vision_config;
  const bool interpolate = height != vc.image_size || width != vc.image_size;
  const VideoFeatures features = model.video_features(HostTensor::from_f32({1, frames, 3, height, width}, pixels), false, interpolate);
  out.embedding = features.embeds.to_float();
  out.fingerprint = model_identity(r.model_dir, model.config().projection_dim).fingerprint;
  return out;
}

}  // namespace

ExampleEmbedder example_embedder() { return embed; }

}  // namespace xsearch
