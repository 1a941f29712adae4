// The vision tower: XCLIPVisionEmbeddings, XCLIPVisionEncoderLayer (CLIP's ViT block with X-CLIP's
// cross-frame message token), XCLIPVisionEncoder and XCLIPVisionTransformer.
#pragma once

#include "model/xclip_encoder.h"
#include "xsearch/config.hpp"

namespace xsearch::model {

// nn.Conv2d(num_channels, hidden, kernel=stride=patch, bias=False): parameter "weight" [D, C, P, P].
class PatchEmbeddingImpl : public torch::nn::Module {
 public:
  PatchEmbeddingImpl(int64_t channels, int64_t dim, int64_t patch);
  torch::Tensor forward(const torch::Tensor& pixel_values);
  torch::Tensor weight;
  int64_t patch;
};
TORCH_MODULE(PatchEmbedding);

class XCLIPVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit XCLIPVisionEmbeddingsImpl(const XCLIPVisionConfig& config);
  // pixel_values [N, C, H, W] -> [N, 1 + patches, hidden]. H and W must be image_size unless
  // `interpolate_pos_encoding`, which resizes the patch position grid bicubically as the reference does.
  torch::Tensor forward(const torch::Tensor& pixel_values, bool interpolate_pos_encoding = false);
  torch::Tensor interpolate_pos_encoding(int64_t num_patches, int64_t height, int64_t width);
  torch::Tensor class_embedding;
  PatchEmbedding patch_embedding{nullptr};
  Embedding position_embedding{nullptr};
  int64_t image_size, patch_size;
};
TORCH_MODULE(XCLIPVisionEmbeddings);

class XCLIPVisionEncoderLayerImpl : public torch::nn::Module {
 public:
  XCLIPVisionEncoderLayerImpl(const XCLIPVisionConfig& config);
  // hidden_states [B*F, L, D] -> [B*F, L, D]; attentions [B*F, heads, L+1, L+1] (with the message token).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& hidden_states, bool output_attentions);
  Linear message_fc{nullptr};
  LayerNorm message_ln{nullptr};
  XCLIPAttention message_attn{nullptr};
  XCLIPAttention self_attn{nullptr};
  LayerNorm layer_norm1{nullptr};
  XCLIPMLP mlp{nullptr};
  LayerNorm layer_norm2{nullptr};
  int64_t num_frames;
};
TORCH_MODULE(XCLIPVisionEncoderLayer);

class XCLIPVisionEncoderImpl : public torch::nn::Module {
 public:
  explicit XCLIPVisionEncoderImpl(const XCLIPVisionConfig& config);
  EncoderOutput forward(const torch::Tensor& inputs_embeds, bool output_hidden_states, bool output_attentions);
  // Dynamic int8 for every layer's q, k, v projections and MLP (about 90% of the tower's multiply-adds);
  // throws xsearch::Error where that is impossible (see Int8DynamicLinear).
  void quantize_int8();
  torch::nn::ModuleList layers;
};
TORCH_MODULE(XCLIPVisionEncoder);

class XCLIPVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit XCLIPVisionTransformerImpl(const XCLIPVisionConfig& config);
  // pixel_values [B*F, C, H, W] (frames of one video consecutive) -> last_hidden_state [B*F, 1+P, D]
  // (no post_layernorm), pooler_output = post_layernorm(CLS) [B*F, D].
  EncoderOutput forward(const torch::Tensor& pixel_values, bool interpolate_pos_encoding = false,
                        bool output_hidden_states = false, bool output_attentions = false);
  XCLIPVisionEmbeddings embeddings{nullptr};
  LayerNorm pre_layernorm{nullptr};
  XCLIPVisionEncoder encoder{nullptr};
  LayerNorm post_layernorm{nullptr};
  int64_t num_frames;
};
TORCH_MODULE(XCLIPVisionTransformer);

}  // namespace xsearch::model
