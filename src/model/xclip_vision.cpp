#include "model/xclip_vision.h"

#include <cmath>

#include <ATen/ATen.h>

#include "xsearch/error.hpp"

namespace xsearch::model {

PatchEmbeddingImpl::PatchEmbeddingImpl(int64_t channels, int64_t dim, int64_t patch_) : patch(patch_) {
  weight = register_parameter("weight", torch::empty({dim, channels, patch, patch}));
}

torch::Tensor PatchEmbeddingImpl::forward(const torch::Tensor& pixel_values) {
  return at::conv2d(pixel_values, weight, {}, {patch, patch});
}

XCLIPVisionEmbeddingsImpl::XCLIPVisionEmbeddingsImpl(const XCLIPVisionConfig& c)
    : image_size(c.image_size), patch_size(c.patch_size) {
  class_embedding = register_parameter("class_embedding", torch::empty({c.hidden_size}));
  patch_embedding = register_module("patch_embedding", PatchEmbedding(c.num_channels, c.hidden_size, c.patch_size));
  const int64_t grid = c.image_size / c.patch_size;
  position_embedding = register_module("position_embedding", Embedding(grid * grid + 1, c.hidden_size));
}

torch::Tensor XCLIPVisionEmbeddingsImpl::interpolate_pos_encoding(int64_t num_patches, int64_t height, int64_t width) {
  const torch::Tensor table = position_embedding->weight;  // [1 + positions, D]
  const int64_t num_positions = table.size(0) - 1;
  if (num_patches == num_positions && height == width) return table.unsqueeze(0);
  const int64_t dim = table.size(1);
  const auto side = static_cast<int64_t>(std::sqrt(static_cast<double>(num_positions)));
  torch::Tensor grid = table.slice(0, 1).reshape({1, side, side, dim}).permute({0, 3, 1, 2});
  grid = at::upsample_bicubic2d(grid, {height / patch_size, width / patch_size}, /*align_corners=*/false);
  grid = grid.permute({0, 2, 3, 1}).reshape({1, -1, dim});
  return at::cat({table.slice(0, 0, 1).unsqueeze(0), grid}, 1);
}

torch::Tensor XCLIPVisionEmbeddingsImpl::forward(const torch::Tensor& pixel_values, bool interpolate) {
  const int64_t batch = pixel_values.size(0), height = pixel_values.size(2), width = pixel_values.size(3);
  if (!interpolate && (height != image_size || width != image_size))
    throw Error("input frames are " + std::to_string(height) + "x" + std::to_string(width) + ", the model's are " +
                std::to_string(image_size) + "x" + std::to_string(image_size) +
                " (use --interpolate-pos-encoding for other sizes)");
  if (height < patch_size || width < patch_size)
    throw Error("input frames of " + std::to_string(height) + "x" + std::to_string(width) +
                " are smaller than one patch of " + std::to_string(patch_size));
  torch::Tensor patches = patch_embedding(pixel_values.to(class_embedding.scalar_type()));  // [N, D, gh, gw]
  patches = patches.flatten(2).transpose(1, 2);                                             // [N, P, D]
  torch::Tensor cls = class_embedding.view({1, 1, -1}).expand({batch, 1, class_embedding.size(0)});
  torch::Tensor embeddings = at::cat({cls, patches}, 1);
  if (interpolate) return embeddings + interpolate_pos_encoding(patches.size(1), height, width);
  return embeddings + position_embedding->weight.unsqueeze(0);
}

XCLIPVisionEncoderLayerImpl::XCLIPVisionEncoderLayerImpl(const XCLIPVisionConfig& c) : num_frames(c.num_frames) {
  const Activation act = activation_from_name(c.hidden_act);
  message_fc = register_module("message_fc", Linear(c.hidden_size, c.hidden_size));
  message_ln = register_module("message_ln", LayerNorm(c.hidden_size, c.layer_norm_eps));
  message_attn = register_module("message_attn", XCLIPAttention(c.hidden_size, c.num_attention_heads));
  self_attn = register_module("self_attn", XCLIPAttention(c.hidden_size, c.num_attention_heads));
  layer_norm1 = register_module("layer_norm1", LayerNorm(c.hidden_size, c.layer_norm_eps));
  mlp = register_module("mlp", XCLIPMLP(c.hidden_size, c.intermediate_size, act));
  layer_norm2 = register_module("layer_norm2", LayerNorm(c.hidden_size, c.layer_norm_eps));
}

std::pair<torch::Tensor, torch::Tensor> XCLIPVisionEncoderLayerImpl::forward(const torch::Tensor& hidden_states,
                                                                             bool output_attentions) {
  const int64_t batch_time = hidden_states.size(0), length = hidden_states.size(1), dim = hidden_states.size(2);
  const int64_t batch = batch_time / num_frames;
  // One message token per frame from its CLS token, mixed across the frames of the same video (no mask).
  torch::Tensor msg = message_fc(hidden_states.select(1, 0)).view({batch, num_frames, dim});
  msg = msg + message_attn->forward(message_ln(msg)).first;  // drop_path is the identity at inference
  // The message token joins the frame's tokens for self-attention only.
  torch::Tensor h = at::cat({hidden_states, msg.view({batch_time, 1, dim})}, 1);
  auto [attn, weights] = self_attn->forward(layer_norm1(h), torch::Tensor(), torch::Tensor(), output_attentions);
  h = (h + attn).slice(1, 0, length);
  h = h + mlp(layer_norm2(h));
  return {h, weights};
}

XCLIPVisionEncoderImpl::XCLIPVisionEncoderImpl(const XCLIPVisionConfig& c) {
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(XCLIPVisionEncoderLayer(c));
  register_module("layers", layers);
}

EncoderOutput XCLIPVisionEncoderImpl::forward(const torch::Tensor& inputs_embeds, bool output_hidden_states,
                                              bool output_attentions) {
  EncoderOutput out;
  torch::Tensor h = inputs_embeds;
  for (const auto& layer : *layers) {
    if (output_hidden_states) out.hidden_states.push_back(h);
    auto [next, weights] = layer->as<XCLIPVisionEncoderLayer>()->forward(h, output_attentions);
    h = next;
    if (output_attentions) out.attentions.push_back(weights);
  }
  if (output_hidden_states) out.hidden_states.push_back(h);
  out.last_hidden_state = h;
  return out;
}

// The message token's layers (message_fc, message_attn) stay in float32: they see one row per frame
// against the 50 of the self-attention and MLP, so int8 would buy nothing there but error.
void XCLIPVisionEncoderImpl::quantize_int8() {
  for (const auto& layer : *layers) {
    auto& l = *layer->as<XCLIPVisionEncoderLayer>();
    l.self_attn->quantize_int8();
    l.mlp->quantize_int8();
  }
}

XCLIPVisionTransformerImpl::XCLIPVisionTransformerImpl(const XCLIPVisionConfig& c) : num_frames(c.num_frames) {
  embeddings = register_module("embeddings", XCLIPVisionEmbeddings(c));
  pre_layernorm = register_module("pre_layernorm", LayerNorm(c.hidden_size, c.layer_norm_eps));
  encoder = register_module("encoder", XCLIPVisionEncoder(c));
  post_layernorm = register_module("post_layernorm", LayerNorm(c.hidden_size, c.layer_norm_eps));
}

EncoderOutput XCLIPVisionTransformerImpl::forward(const torch::Tensor& pixel_values, bool interpolate_pos_encoding,
                                                  bool output_hidden_states, bool output_attentions) {
  if (pixel_values.dim() != 4 || pixel_values.size(0) % num_frames != 0)
    throw Error("vision input must be [videos * " + std::to_string(num_frames) + " frames, C, H, W], got " +
                std::string(c10::str(pixel_values.sizes())));
  torch::Tensor h = pre_layernorm(embeddings(pixel_values, interpolate_pos_encoding));
  EncoderOutput out = encoder(h, output_hidden_states, output_attentions);
  out.pooler_output = post_layernorm(out.last_hidden_state.select(1, 0));
  return out;
}

}  // namespace xsearch::model
