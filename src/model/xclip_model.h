// XCLIPMultiframeIntegrationTransformer and XCLIPModel: the towers joined, the MIT, the prompt generator,
// the logits and the contrastive loss. Parameter names equal the checkpoint keys (named_parameters()).
#pragma once

#include "model/xclip_prompts.h"
#include "model/xclip_text.h"
#include "model/xclip_vision.h"

namespace xsearch::model {

class XCLIPMultiframeIntegrationTransformerImpl : public torch::nn::Module {
 public:
  XCLIPMultiframeIntegrationTransformerImpl(const XCLIPVisionConfig& config);
  // frame embeddings [B, F, D] -> last_hidden_state = encoder(x + position_embedding) + x, pooler = its mean
  // over frames [B, D].
  EncoderOutput forward(const torch::Tensor& hidden_states, bool output_hidden_states = false,
                        bool output_attentions = false);
  torch::Tensor position_embedding;
  XCLIPEncoder encoder{nullptr};
};
TORCH_MODULE(XCLIPMultiframeIntegrationTransformer);

// The vision side of one forward: everything that depends on the videos only (what an index stores).
struct VideoEncoding {
  EncoderOutput vision_model_output;  // per frame, [B*F, ...]
  torch::Tensor frame_embeds;         // visual_projection(pooled) [B, F, D]
  EncoderOutput mit_output;           // pooler_output = video_embeds_raw [B, D]
  torch::Tensor prompt_visual_features;  // [B, P, D], defined only when requested
};

struct XCLIPOutput {
  torch::Tensor loss;  // defined when requested
  torch::Tensor logits_per_video;  // [B, T]
  torch::Tensor logits_per_text;   // [T, B]
  torch::Tensor text_embeds;       // [B, T, D], normalised, prompted per video
  torch::Tensor video_embeds;      // [B, D], normalised
  torch::Tensor text_embeds_raw;   // get_text_features [T, D]
  torch::Tensor text_embeds_prompted;  // [B, T, D] before normalisation
  EncoderOutput text_model_output;
  VideoEncoding video;
};

class XCLIPModelImpl : public torch::nn::Module {
 public:
  explicit XCLIPModelImpl(const XCLIPConfig& config);

  // input_ids [T, L], attention_mask [T, L] or undefined -> [T, D]
  torch::Tensor get_text_features(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {});
  // pixel_values [B, F, C, H, W] -> [B, D] (not normalised)
  torch::Tensor get_video_features(const torch::Tensor& pixel_values, bool interpolate_pos_encoding = false);
  // The vision side in full; `with_prompts` adds the [B, P, D] visual tokens of the prompt generator.
  VideoEncoding encode_video(const torch::Tensor& pixel_values, bool with_prompts, bool interpolate_pos_encoding = false,
                             bool output_hidden_states = false, bool output_attentions = false);
  // X-CLIP's exact score from stored features: text_embeds_raw [T, D], video_embeds_raw [B, D],
  // prompt_visual_features [B, P, D] -> logits_per_video [B, T]. `text_embeds_prompted` (optional) receives the
  // [B, T, D] prompted text before normalisation.
  torch::Tensor logits_from_features(const torch::Tensor& text_embeds_raw, const torch::Tensor& video_embeds_raw,
                                     const torch::Tensor& prompt_visual_features, XCLIPOutput* details = nullptr);
  // The reference's XCLIPModel.forward.
  XCLIPOutput forward(const torch::Tensor& input_ids, const torch::Tensor& pixel_values,
                      const torch::Tensor& attention_mask = {}, bool return_loss = false,
                      bool interpolate_pos_encoding = false, bool output_hidden_states = false,
                      bool output_attentions = false);

  const XCLIPConfig& config() const { return config_; }

  XCLIPTextTransformer text_model{nullptr};
  XCLIPVisionTransformer vision_model{nullptr};
  Linear visual_projection{nullptr}, text_projection{nullptr};
  torch::Tensor logit_scale;
  LayerNorm prompts_visual_layernorm{nullptr};
  torch::Tensor prompts_visual_projection;
  XCLIPMultiframeIntegrationTransformer mit{nullptr};
  XCLIPPromptGenerator prompts_generator{nullptr};

 private:
  XCLIPConfig config_;
};
TORCH_MODULE(XCLIPModel);

// The reference's x_clip_loss: mean of the cross-entropies of logits_per_text [N, N] and its transpose.
torch::Tensor x_clip_loss(const torch::Tensor& logits_per_text);

}  // namespace xsearch::model
