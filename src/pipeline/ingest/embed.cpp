#include "pipeline/ingest/embed.hpp"

#include <cstring>

#include "pipeline/vectors.hpp"

namespace xsearch::pipeline {

Embedder::Embedder(const Model& model, const DecodeSettings& settings, bool store_prompts)
    : model_(model), settings_(settings), store_prompts_(store_prompts) {}

std::vector<ClipData> Embedder::embed(const std::vector<ClipItem>& batch) const {
  if (batch.empty()) return {};
  const auto& vc = model_.config().vision_config;
  const auto& pre = settings_.preprocessor;
  const int64_t per_clip = static_cast<int64_t>(batch[0].pixels.size());
  HostTensor pixels;
  pixels.dtype = DType::F32;
  pixels.shape = {static_cast<int64_t>(batch.size()), settings_.num_frames, 3, pre.crop_height, pre.crop_width};
  pixels.bytes.resize(batch.size() * per_clip * sizeof(float));
  for (std::size_t i = 0; i < batch.size(); ++i)
    std::memcpy(pixels.bytes.data() + i * per_clip * sizeof(float), batch[i].pixels.data(), per_clip * sizeof(float));
  const bool interpolate = pre.crop_height != vc.image_size || pre.crop_width != vc.image_size;
  const VideoFeatures features = model_.video_features(pixels, store_prompts_, interpolate);
  const auto embeds = features.embeds.to_float();
  const int64_t dim = features.embeds.shape[1];
  const auto prompts = store_prompts_ ? features.prompt_tokens.to_float() : std::vector<float>{};
  const int64_t prompt_values = store_prompts_ ? features.prompt_tokens.shape[1] * features.prompt_tokens.shape[2] : 0;
  std::vector<ClipData> out(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    ClipData& clip = out[i];
    clip.start = batch[i].start;
    clip.end = batch[i].end;
    clip.embedding = normalised(std::vector<float>(embeds.begin() + static_cast<std::ptrdiff_t>(i * dim),
                                                   embeds.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim)));
    if (store_prompts_) clip.prompt_tokens = to_float16(prompts.data() + i * prompt_values, static_cast<std::size_t>(prompt_values));
  }
  return out;
}

}  // namespace xsearch::pipeline
