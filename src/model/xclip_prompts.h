// The video-specific prompt generator: XCLIPCrossAttention, PromptGeneratorLayer and XCLIPPromptGenerator
// (the original implementation's VideoSpecificPrompt). It shifts each text embedding towards the visual
// tokens of one video, which is why X-CLIP's full score is not a plain dot product.
#pragma once

#include "model/layers.h"
#include "xsearch/config.hpp"

#include <torch/nn/modules/container/modulelist.h>

namespace xsearch::model {

// Multi-head cross-attention; q/k/v without bias, `proj` with bias.
class XCLIPCrossAttentionImpl : public torch::nn::Module {
 public:
  XCLIPCrossAttentionImpl(int64_t dim, int64_t num_heads);
  // queries [B, Q, D], keys = values [B, K, D] -> [B, Q, D]
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& keys, const torch::Tensor& values);
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, proj{nullptr};
  int64_t num_heads;
  double scale;
};
TORCH_MODULE(XCLIPCrossAttention);

// The reference's nn.Sequential(Linear, act, Dropout, Linear): children "0" and "3", so that the checkpoint's
// `mlp.0.weight` and `mlp.3.weight` map one to one.
class PromptMLPImpl : public torch::nn::Module {
 public:
  PromptMLPImpl(int64_t dim, Activation act);
  torch::Tensor forward(const torch::Tensor& x);
  Linear fc_in{nullptr}, fc_out{nullptr};
  Activation act;
};
TORCH_MODULE(PromptMLP);

class PromptGeneratorLayerImpl : public torch::nn::Module {
 public:
  explicit PromptGeneratorLayerImpl(const XCLIPConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& visual);
  XCLIPCrossAttention cross_attn{nullptr};
  LayerNorm norm1{nullptr}, norm3{nullptr};
  PromptMLP mlp{nullptr};
};
TORCH_MODULE(PromptGeneratorLayer);

class XCLIPPromptGeneratorImpl : public torch::nn::Module {
 public:
  explicit XCLIPPromptGeneratorImpl(const XCLIPConfig& config);
  // text [B, T, D], visual [B, P, D] -> alpha * decoded text [B, T, D]
  torch::Tensor forward(const torch::Tensor& text, const torch::Tensor& visual);
  LayerNorm layernorm{nullptr};
  torch::nn::ModuleList decoder;
  torch::Tensor alpha;
};
TORCH_MODULE(XCLIPPromptGenerator);

}  // namespace xsearch::model
