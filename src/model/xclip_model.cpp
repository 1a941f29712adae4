#include "model/xclip_model.h"

#include <ATen/ATen.h>

#include "xsearch/error.hpp"

namespace xsearch::model {

XCLIPMultiframeIntegrationTransformerImpl::XCLIPMultiframeIntegrationTransformerImpl(const XCLIPVisionConfig& c) {
  position_embedding = register_parameter("position_embedding", torch::empty({1, c.num_frames, c.mit_hidden_size}));
  // The reference copies the vision config and swaps in the mit_* sizes.
  encoder = register_module("encoder", XCLIPEncoder(EncoderOptions::make(c.mit_hidden_size, c.mit_intermediate_size,
                                                                          c.mit_num_attention_heads, c.mit_num_hidden_layers,
                                                                          c.layer_norm_eps, c.hidden_act)));
}

EncoderOutput XCLIPMultiframeIntegrationTransformerImpl::forward(const torch::Tensor& hidden_states,
                                                                 bool output_hidden_states, bool output_attentions) {
  EncoderOutput out = encoder->forward(hidden_states + position_embedding, torch::Tensor(), torch::Tensor(),
                                      output_hidden_states, output_attentions);
  out.last_hidden_state = out.last_hidden_state + hidden_states;
  out.pooler_output = out.last_hidden_state.mean(1);
  return out;
}

XCLIPModelImpl::XCLIPModelImpl(const XCLIPConfig& c) : config_(c) {
  const int64_t text_dim = c.text_config.hidden_size, vision_dim = c.vision_config.hidden_size;
  text_model = register_module("text_model", XCLIPTextTransformer(c.text_config));
  vision_model = register_module("vision_model", XCLIPVisionTransformer(c.vision_config));
  visual_projection = register_module("visual_projection", Linear(vision_dim, c.projection_dim, /*bias=*/false));
  text_projection = register_module("text_projection", Linear(text_dim, c.projection_dim, /*bias=*/false));
  logit_scale = register_parameter("logit_scale", torch::empty({}));
  prompts_visual_layernorm =
      register_module("prompts_visual_layernorm", LayerNorm(vision_dim, c.vision_config.layer_norm_eps));
  // A raw [Hv, D] matrix, used as x @ W (not an nn.Linear weight).
  prompts_visual_projection = register_parameter("prompts_visual_projection", torch::empty({vision_dim, c.projection_dim}));
  mit = register_module("mit", XCLIPMultiframeIntegrationTransformer(c.vision_config));
  prompts_generator = register_module("prompts_generator", XCLIPPromptGenerator(c));
}

torch::Tensor XCLIPModelImpl::get_text_features(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  return text_projection(text_model(input_ids, attention_mask).pooler_output);
}

torch::Tensor XCLIPModelImpl::get_video_features(const torch::Tensor& pixel_values, bool interpolate_pos_encoding) {
  return encode_video(pixel_values, false, interpolate_pos_encoding).mit_output.pooler_output;
}

VideoEncoding XCLIPModelImpl::encode_video(const torch::Tensor& pixel_values, bool with_prompts,
                                           bool interpolate_pos_encoding, bool output_hidden_states,
                                           bool output_attentions) {
  const auto& vc = config_.vision_config;
  if (pixel_values.dim() != 5)
    throw Error("pixel_values must be [videos, frames, channels, height, width], got " +
                std::string(c10::str(pixel_values.sizes())));
  const int64_t batch = pixel_values.size(0), frames = pixel_values.size(1);
  if (frames != vc.num_frames)
    throw Error("pixel_values has " + std::to_string(frames) + " frames per video; this model takes " +
                std::to_string(vc.num_frames) + " (vision_config.num_frames)");
  if (pixel_values.size(2) != vc.num_channels)
    throw Error("pixel_values has " + std::to_string(pixel_values.size(2)) + " channels; this model takes " +
                std::to_string(vc.num_channels));
  VideoEncoding out;
  out.vision_model_output = vision_model(pixel_values.flatten(0, 1), interpolate_pos_encoding, output_hidden_states,
                                         output_attentions);
  out.frame_embeds = visual_projection(out.vision_model_output.pooler_output).view({batch, frames, -1});
  out.mit_output = mit(out.frame_embeds, output_hidden_states, output_attentions);
  if (with_prompts) {
    // Patch tokens of the last layer (CLS dropped, before post_layernorm), projected, averaged over frames.
    torch::Tensor tokens = prompts_visual_layernorm(out.vision_model_output.last_hidden_state.slice(1, 1));
    tokens = at::matmul(tokens, prompts_visual_projection);
    out.prompt_visual_features = tokens.view({batch, frames, tokens.size(1), tokens.size(2)}).mean(1);
  }
  return out;
}

torch::Tensor XCLIPModelImpl::logits_from_features(const torch::Tensor& text_embeds_raw,
                                                   const torch::Tensor& video_embeds_raw,
                                                   const torch::Tensor& prompt_visual_features, XCLIPOutput* details) {
  const int64_t batch = video_embeds_raw.size(0);
  torch::Tensor text = text_embeds_raw.unsqueeze(0).expand({batch, -1, -1});
  text = text + prompts_generator(text, prompt_visual_features);
  const torch::Tensor video = video_embeds_raw / video_embeds_raw.norm(2, -1, true);
  const torch::Tensor text_normalised = text / text.norm(2, -1, true);
  // einsum("bd,bkd->bk", video, scale * text)
  torch::Tensor logits = at::matmul(logit_scale.exp() * text_normalised, video.unsqueeze(-1)).squeeze(-1);
  if (details) {
    details->text_embeds_prompted = text;
    details->text_embeds = text_normalised;
    details->video_embeds = video;
  }
  return logits;
}

XCLIPOutput XCLIPModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& pixel_values,
                                    const torch::Tensor& attention_mask, bool return_loss,
                                    bool interpolate_pos_encoding, bool output_hidden_states, bool output_attentions) {
  XCLIPOutput out;
  out.video = encode_video(pixel_values, true, interpolate_pos_encoding, output_hidden_states, output_attentions);
  out.text_model_output = text_model(input_ids, attention_mask, output_hidden_states, output_attentions);
  out.text_embeds_raw = text_projection(out.text_model_output.pooler_output);
  out.logits_per_video = logits_from_features(out.text_embeds_raw, out.video.mit_output.pooler_output,
                                              out.video.prompt_visual_features, &out);
  out.logits_per_text = out.logits_per_video.t();
  if (return_loss) {
    if (out.logits_per_text.size(0) != out.logits_per_text.size(1))
      throw Error("the contrastive loss needs as many texts as videos, got " + std::to_string(out.logits_per_text.size(0)) +
                  " texts and " + std::to_string(out.logits_per_text.size(1)) + " videos");
    out.loss = x_clip_loss(out.logits_per_text);
  }
  return out;
}

torch::Tensor x_clip_loss(const torch::Tensor& logits_per_text) {
  const torch::Tensor labels = at::arange(logits_per_text.size(0), logits_per_text.options().dtype(at::kLong));
  const torch::Tensor caption_loss = at::cross_entropy_loss(logits_per_text, labels);
  const torch::Tensor image_loss = at::cross_entropy_loss(logits_per_text.t(), labels);
  return (caption_loss + image_loss) / 2.0;
}

}  // namespace xsearch::model
