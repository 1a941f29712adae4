// xsearch classify: the reference's zero-shot recipe on one video (or each of its clips). The labels are
// encoded once; each clip is classified as soon as its frames are decoded, so memory does not grow with
// the video's length (one clip's pixels at a time: 8 x 3 x 224 x 224 floats, 4.8 MB for base-patch32).
#include <algorithm>
#include <cmath>

#include "xsearch/classify.hpp"
#include "xsearch/error.hpp"
#include "xsearch/model.hpp"
#include "xsearch/tokenizer.hpp"
#include "xsearch/video.hpp"

namespace xsearch {

namespace {

// logits_per_video of one clip -> the result's probabilities (softmax) and logits.
ClassifiedClip classified(const ClipWindow& clip, const std::vector<float>& logits) {
  ClassifiedClip out;
  out.start = clip.start;
  out.end = clip.end;
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(l - top);
  for (float l : logits) {
    out.logits.push_back(l);
    out.probs.push_back(std::exp(l - top) / sum);
  }
  return out;
}

}  // namespace

ClassifyResult classify(const ClassifyOptions& o) {
  if (o.labels.empty()) throw Error("classify: give at least one label (--labels \"a,b,c\")");
  ModelOptions mo;
  mo.device = o.device;
  mo.dtype = o.dtype;
  mo.threads = o.threads;
  const Model model = Model::load(o.model_dir, mo);
  const ClipTokenizer tokenizer = ClipTokenizer::load(o.model_dir);
  const PreprocessorConfig pre = PreprocessorConfig::load(o.model_dir);
  const int frames = static_cast<int>(model.config().vision_config.num_frames);
  const TokenBatch tokens = tokenizer.encode_batch(o.labels);
  // The text side once for all clips: X-CLIP's logits from text features and each clip's video features
  // (embeds and prompt tokens) equal the full forward's logits_per_video.
  const HostTensor text = model.text_features(tokens.ids_tensor(), tokens.mask_tensor());

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

  ClassifyResult result;
  result.video = o.video.string();
  result.labels = o.labels;
  const auto& vc = model.config().vision_config;
  const auto [height, width] = preprocessed_size(reader.info().width, reader.info().height, pre);
  const bool interpolate = height != vc.image_size || width != vc.image_size;
  std::vector<float> pixels;  // the frames of the clip being gathered
  reader.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
    preprocess_frame(f, pre, pixels);
    if ((k + 1) % frames != 0) return;
    const HostTensor px = HostTensor::from_f32({1, frames, 3, height, width}, pixels);
    pixels.clear();
    const VideoFeatures video = model.video_features(px, true, interpolate);
    result.clips.push_back(classified(clips[k / frames], model.logits(text, video).to_float()));
  });
  if (result.clips.empty()) throw Error(o.video.string() + ": " + (reader.read_error().empty() ? "no frames" : reader.read_error()));
  return result;
}

}  // namespace xsearch
