#include "model/xclip_prompts.h"

#include <cmath>

#include <ATen/ATen.h>

namespace xsearch::model {

XCLIPCrossAttentionImpl::XCLIPCrossAttentionImpl(int64_t dim, int64_t heads)
    : num_heads(heads), scale(1.0 / std::sqrt(static_cast<double>(dim / heads))) {
  q_proj = register_module("q_proj", Linear(dim, dim, /*bias=*/false));
  k_proj = register_module("k_proj", Linear(dim, dim, /*bias=*/false));
  v_proj = register_module("v_proj", Linear(dim, dim, /*bias=*/false));
  proj = register_module("proj", Linear(dim, dim));
}

torch::Tensor XCLIPCrossAttentionImpl::forward(const torch::Tensor& queries, const torch::Tensor& keys,
                                               const torch::Tensor& values) {
  const int64_t batch = queries.size(0), q_len = queries.size(1), dim = queries.size(2), k_len = keys.size(1);
  const int64_t head_dim = dim / num_heads;
  auto split = [&](const torch::Tensor& t, int64_t len) { return t.reshape({batch, len, num_heads, head_dim}).permute({0, 2, 1, 3}); };
  const torch::Tensor q = split(q_proj(queries), q_len);
  const torch::Tensor k = split(k_proj(keys), k_len);
  const torch::Tensor v = split(v_proj(values), k_len);
  // Unlike XCLIPAttention, the reference scales the scores here, not the queries.
  const torch::Tensor attn = at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale, -1);
  return proj(at::matmul(attn, v).transpose(1, 2).reshape({batch, q_len, dim}));
}

PromptMLPImpl::PromptMLPImpl(int64_t dim, Activation act_) : act(act_) {
  fc_in = register_module("0", Linear(dim, dim * 4));
  fc_out = register_module("3", Linear(dim * 4, dim));
}

torch::Tensor PromptMLPImpl::forward(const torch::Tensor& x) { return fc_out(apply_activation(act, fc_in(x))); }

PromptGeneratorLayerImpl::PromptGeneratorLayerImpl(const XCLIPConfig& c) {
  const int64_t dim = c.projection_dim;
  cross_attn = register_module("cross_attn", XCLIPCrossAttention(dim, c.prompt_num_attention_heads));
  // The reference takes these epsilons from the text config.
  norm1 = register_module("norm1", LayerNorm(dim, c.text_config.layer_norm_eps));
  norm3 = register_module("norm3", LayerNorm(dim, c.text_config.layer_norm_eps));
  mlp = register_module("mlp", PromptMLP(dim, activation_from_name(c.prompt_hidden_act)));
}

torch::Tensor PromptGeneratorLayerImpl::forward(const torch::Tensor& x_in, const torch::Tensor& visual) {
  torch::Tensor x = x_in + cross_attn(norm1(x_in), visual, visual);
  return x + mlp(norm3(x));
}

XCLIPPromptGeneratorImpl::XCLIPPromptGeneratorImpl(const XCLIPConfig& c) {
  // ... and this one from the vision config.
  layernorm = register_module("layernorm", LayerNorm(c.projection_dim, c.vision_config.layer_norm_eps));
  for (int64_t i = 0; i < c.prompt_layers; ++i) decoder->push_back(PromptGeneratorLayer(c));
  register_module("decoder", decoder);
  alpha = register_parameter("alpha", torch::empty({c.projection_dim}));
}

torch::Tensor XCLIPPromptGeneratorImpl::forward(const torch::Tensor& text_in, const torch::Tensor& visual_in) {
  const torch::Tensor visual = layernorm(visual_in);
  torch::Tensor text = text_in;
  for (const auto& layer : *decoder) text = layer->as<PromptGeneratorLayer>()->forward(text, visual);
  return alpha * text;
}

}  // namespace xsearch::model
