// xsearch classify: the reference's zero-shot recipe on one video (or each of its clips).
#include <cmath>
#include <cstring>

#include "xsearch/error.hpp"
#include "xsearch/model.hpp"
#include "xsearch/classify.hpp"
#include "xsearch/tokenizer.hpp"
#include "xsearch/video.hpp"

namespace xsearch {

ClassifyResult classify(const ClassifyOptions& o) {
  if (o.labels.empty()) throw Error("classify: give at least one label (--labels \"a,b,c\")");
  ModelOptions mo;
  mo.device = o.device;
  mo.threads = o.threads;
  const Model model = Model::load(o.model_dir, mo);
  const ClipTokenizer tokenizer = ClipTokenizer::load(o.model_dir);
  const PreprocessorConfig pre = PreprocessorConfig::load(o.model_dir);
  const int frames = static_cast<int>(model.config().vision_config.num_frames);
  const TokenBatch tokens = tokenizer.encode_batch(o.labels);
  const HostTensor ids = tokens.ids_tensor(), mask = tokens.mask_tensor();

  VideoReader reader(o.video);
  std::vector<ClipWindow> clips;
  if (o.per_clip) {
    ClipWindowOptions w;
    w.window = o.window;
    w.stride = o.stride > 0 ? o.stride : o.window;
    clips = plan_clips(reader.info().start, reader.info().end, frames, w);
  } else {
    clips = {whole_video_clip(reader.info(), frames)};
  }
  std::vector<double> targets;
  for (const auto& c : clips) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
  std::vector<float> pixels;
  reader.frames_at_times(targets, [&](std::size_t, const RgbFrame& f) { preprocess_frame(f, pre, pixels); });

  ClassifyResult result;
  result.video = o.video.string();
  result.labels = o.labels;
  const auto& vc = model.config().vision_config;
  const auto [height, width] = preprocessed_size(reader.info().width, reader.info().height, pre);
  const bool interpolate = height != vc.image_size || width != vc.image_size;
  const std::size_t per_clip = pixels.size() / clips.size();
  for (std::size_t c = 0; c < clips.size(); ++c) {
    std::vector<float> one(pixels.begin() + static_cast<std::ptrdiff_t>(c * per_clip),
                           pixels.begin() + static_cast<std::ptrdiff_t>((c + 1) * per_clip));
    const HostTensor px = HostTensor::from_f32({1, frames, 3, height, width}, one);
    const auto logits = model.forward(ids, mask, px, false, interpolate).logits_per_video.to_float();
    ClassifiedClip out;
    out.start = clips[c].start;
    out.end = clips[c].end;
    const double top = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float l : logits) sum += std::exp(l - top);
    for (float l : logits) {
      out.logits.push_back(l);
      out.probs.push_back(std::exp(l - top) / sum);
    }
    result.clips.push_back(std::move(out));
  }
  return result;
}

}  // namespace xsearch
