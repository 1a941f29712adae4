// XCLIPAttention, XCLIPMLP, XCLIPEncoderLayer and XCLIPEncoder of the reference: the pre-LayerNorm
// transformer block shared by the text tower and the MIT (the vision tower's layer is in xclip_vision.h).
#pragma once

#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include <torch/nn/modules/container/modulelist.h>

#include "model/layers.h"

namespace xsearch::model {

struct EncoderOptions {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_attention_heads = 0;
  int64_t num_hidden_layers = 0;
  double layer_norm_eps = 1e-5;
  Activation hidden_act = Activation::QuickGelu;

  static EncoderOptions make(int64_t hidden, int64_t intermediate, int64_t heads, int64_t layers, double eps,
                             const std::string& act) {
    return {hidden, intermediate, heads, layers, eps, activation_from_name(act)};
  }
};

// What the reference's BaseModelOutput(WithPooling) holds. `hidden_states` (the embeddings, then each
// layer's output) and `attentions` ([B, heads, L, S] per layer) are filled only on request.
struct EncoderOutput {
  torch::Tensor last_hidden_state;
  torch::Tensor pooler_output;
  std::vector<torch::Tensor> hidden_states;
  std::vector<torch::Tensor> attentions;
};

// Multi-head attention with q/k/v/out projections. Masks are additive, [B, 1, L, S], or undefined.
class XCLIPAttentionImpl : public torch::nn::Module {
 public:
  XCLIPAttentionImpl(int64_t embed_dim, int64_t num_heads);
  // [B, L, D] -> ([B, L, D], attention probabilities [B, heads, L, L] if requested, else undefined)
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& hidden_states,
                                                  const torch::Tensor& attention_mask = {},
                                                  const torch::Tensor& causal_attention_mask = {},
                                                  bool output_attentions = false);
  // Dynamic int8 for the q, k and v projections from now on (still one GEMM); see Int8DynamicLinear.
  // out_proj stays in float32: on the xclip-tiny fixture it alone took the video embeddings' cosine to
  // float32 down to 0.99865 (q, k, v, fc1 and fc2 together: 0.99965), for a twelfth of the multiply-adds.
  void quantize_int8();
  Linear k_proj{nullptr}, v_proj{nullptr}, q_proj{nullptr}, out_proj{nullptr};
  int64_t num_heads;
  double scale;

 private:
  // Without autograd, q, k and v come from one GEMM over the three weights side by side (one wide GEMM
  // runs closer to the BLAS's peak than three narrow ones). The fused copy is rebuilt whenever a weight
  // changes (loading, .to(device), in-place edits), which the tensors' version counters reveal.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> project_qkv(const torch::Tensor& x);
  torch::Tensor fused_weight_, fused_bias_;
  std::vector<std::pair<const void*, int64_t>> fused_from_;
  std::shared_ptr<const Int8DynamicLinear> int8_qkv_;
};
TORCH_MODULE(XCLIPAttention);

class XCLIPMLPImpl : public torch::nn::Module {
 public:
  XCLIPMLPImpl(int64_t hidden_size, int64_t intermediate_size, Activation act);
  torch::Tensor forward(const torch::Tensor& x);
  void quantize_int8() {
    fc1->quantize_int8();
    fc2->quantize_int8();
  }
  Linear fc1{nullptr}, fc2{nullptr};
  Activation act;
};
TORCH_MODULE(XCLIPMLP);

class XCLIPEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit XCLIPEncoderLayerImpl(const EncoderOptions& options);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask,
                                                  const torch::Tensor& causal_attention_mask, bool output_attentions);
  XCLIPAttention self_attn{nullptr};
  LayerNorm layer_norm1{nullptr};
  XCLIPMLP mlp{nullptr};
  LayerNorm layer_norm2{nullptr};
};
TORCH_MODULE(XCLIPEncoderLayer);

class XCLIPEncoderImpl : public torch::nn::Module {
 public:
  explicit XCLIPEncoderImpl(const EncoderOptions& options);
  EncoderOutput forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask = {},
                        const torch::Tensor& causal_attention_mask = {}, bool output_hidden_states = false,
                        bool output_attentions = false);
  torch::nn::ModuleList layers;
};
TORCH_MODULE(XCLIPEncoder);

}  // namespace xsearch::model
