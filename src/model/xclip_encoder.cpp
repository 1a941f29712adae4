#include "model/xclip_encoder.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace xsearch::model {

XCLIPAttentionImpl::XCLIPAttentionImpl(int64_t embed_dim, int64_t heads)
    : num_heads(heads), scale(1.0 / std::sqrt(static_cast<double>(embed_dim / heads))) {
  // Registration order as in the reference's __init__ (k, v, q, out).
  k_proj = register_module("k_proj", Linear(embed_dim, embed_dim));
  v_proj = register_module("v_proj", Linear(embed_dim, embed_dim));
  q_proj = register_module("q_proj", Linear(embed_dim, embed_dim));
  out_proj = register_module("out_proj", Linear(embed_dim, embed_dim));
}

void XCLIPAttentionImpl::quantize_int8() {
  int8_qkv_ = std::make_shared<const Int8DynamicLinear>(at::cat({q_proj->weight, k_proj->weight, v_proj->weight}, 0),
                                                        at::cat({q_proj->bias, k_proj->bias, v_proj->bias}, 0));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> XCLIPAttentionImpl::project_qkv(const torch::Tensor& x) {
  if (int8_qkv_) {
    const auto parts = int8_qkv_->forward(x).chunk(3, -1);
    return {parts[0], parts[1], parts[2]};
  }
  if (at::GradMode::is_enabled()) return {q_proj(x), k_proj(x), v_proj(x)};
  std::vector<std::pair<const void*, int64_t>> sources;
  for (const Linear& l : {q_proj, k_proj, v_proj}) {
    sources.emplace_back(l->weight.data_ptr(), static_cast<int64_t>(l->weight._version()));
    sources.emplace_back(l->bias.data_ptr(), static_cast<int64_t>(l->bias._version()));
  }
  if (sources != fused_from_ || !fused_weight_.defined() || fused_weight_.device() != x.device()) {
    fused_weight_ = at::cat({q_proj->weight, k_proj->weight, v_proj->weight}, 0);
    fused_bias_ = at::cat({q_proj->bias, k_proj->bias, v_proj->bias}, 0);
    fused_from_ = std::move(sources);
  }
  const auto parts = at::linear(x, fused_weight_, fused_bias_).chunk(3, -1);
  return {parts[0], parts[1], parts[2]};
}

std::pair<torch::Tensor, torch::Tensor> XCLIPAttentionImpl::forward(const torch::Tensor& x,
                                                                    const torch::Tensor& attention_mask,
                                                                    const torch::Tensor& causal_attention_mask,
                                                                    bool output_attentions) {
  const int64_t batch = x.size(0), length = x.size(1), dim = x.size(2);
  const int64_t head_dim = dim / num_heads;
  // [B, L, D] -> [B, heads, L, head_dim]
  auto split = [&](const torch::Tensor& t) { return t.reshape({batch, length, num_heads, head_dim}).transpose(1, 2); };
  const auto [q_raw, k_raw, v_raw] = project_qkv(x);
  const torch::Tensor q = split(q_raw * scale);
  const torch::Tensor k = split(k_raw);
  const torch::Tensor v = split(v_raw);
  torch::Tensor weights = at::matmul(q, k.transpose(-1, -2));  // [B, heads, L, L]
  // The causal mask first, then the padding mask, as the reference adds them (min + min = -inf is intended).
  if (causal_attention_mask.defined()) weights = weights + causal_attention_mask;
  if (attention_mask.defined()) weights = weights + attention_mask;
  weights = at::softmax(weights, -1);
  torch::Tensor out = at::matmul(weights, v).transpose(1, 2).reshape({batch, length, dim});
  return {out_proj(out), output_attentions ? weights : torch::Tensor()};
}

XCLIPMLPImpl::XCLIPMLPImpl(int64_t hidden_size, int64_t intermediate_size, Activation act_) : act(act_) {
  fc1 = register_module("fc1", Linear(hidden_size, intermediate_size));
  fc2 = register_module("fc2", Linear(intermediate_size, hidden_size));
}

torch::Tensor XCLIPMLPImpl::forward(const torch::Tensor& x) { return fc2(apply_activation(act, fc1(x))); }

XCLIPEncoderLayerImpl::XCLIPEncoderLayerImpl(const EncoderOptions& o) {
  self_attn = register_module("self_attn", XCLIPAttention(o.hidden_size, o.num_attention_heads));
  layer_norm1 = register_module("layer_norm1", LayerNorm(o.hidden_size, o.layer_norm_eps));
  mlp = register_module("mlp", XCLIPMLP(o.hidden_size, o.intermediate_size, o.hidden_act));
  layer_norm2 = register_module("layer_norm2", LayerNorm(o.hidden_size, o.layer_norm_eps));
}

std::pair<torch::Tensor, torch::Tensor> XCLIPEncoderLayerImpl::forward(const torch::Tensor& hidden_states,
                                                                       const torch::Tensor& attention_mask,
                                                                       const torch::Tensor& causal_attention_mask,
                                                                       bool output_attentions) {
  auto [attn, weights] = self_attn(layer_norm1(hidden_states), attention_mask, causal_attention_mask, output_attentions);
  torch::Tensor h = hidden_states + attn;
  h = h + mlp(layer_norm2(h));
  return {h, weights};
}

XCLIPEncoderImpl::XCLIPEncoderImpl(const EncoderOptions& o) {
  for (int64_t i = 0; i < o.num_hidden_layers; ++i) layers->push_back(XCLIPEncoderLayer(o));
  register_module("layers", layers);
}

EncoderOutput XCLIPEncoderImpl::forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                                        const torch::Tensor& causal_attention_mask, bool output_hidden_states,
                                        bool output_attentions) {
  EncoderOutput out;
  torch::Tensor h = inputs_embeds;
  for (const auto& layer : *layers) {
    if (output_hidden_states) out.hidden_states.push_back(h);
    auto [next, weights] = layer->as<XCLIPEncoderLayer>()->forward(h, attention_mask, causal_attention_mask, output_attentions);
    h = next;
    if (output_attentions) out.attentions.push_back(weights);
  }
  if (output_hidden_states) out.hidden_states.push_back(h);
  out.last_hidden_state = h;
  return out;
}

}  // namespace xsearch::model
