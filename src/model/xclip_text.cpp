#include "model/xclip_text.h"

#include <limits>

#include <ATen/ATen.h>

#include "xsearch/error.hpp"

namespace xsearch::model {

double dtype_min(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf: return static_cast<double>(std::numeric_limits<c10::Half>::lowest());
    case at::kBFloat16: return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
    case at::kDouble: return std::numeric_limits<double>::lowest();
    default: return std::numeric_limits<float>::lowest();
  }
}

XCLIPTextEmbeddingsImpl::XCLIPTextEmbeddingsImpl(const XCLIPTextConfig& c) {
  token_embedding = register_module("token_embedding", Embedding(c.vocab_size, c.hidden_size));
  position_embedding = register_module("position_embedding", Embedding(c.max_position_embeddings, c.hidden_size));
}

torch::Tensor XCLIPTextEmbeddingsImpl::forward(const torch::Tensor& input_ids) {
  const int64_t length = input_ids.size(-1);
  const int64_t max_positions = position_embedding->weight.size(0);
  if (length > max_positions)
    throw Error("text of " + std::to_string(length) + " tokens is longer than max_position_embeddings " +
                std::to_string(max_positions));
  const int64_t vocab = token_embedding->weight.size(0);
  // An id outside the vocabulary would be an out-of-bounds read in at::embedding: refuse it clearly.
  if (input_ids.numel() > 0) {
    const int64_t lo = input_ids.min().item<int64_t>(), hi = input_ids.max().item<int64_t>();
    if (lo < 0 || hi >= vocab)
      throw Error("token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary of " +
                  std::to_string(vocab));
  }
  return token_embedding(input_ids) + position_embedding->weight.slice(0, 0, length);
}

XCLIPTextTransformerImpl::XCLIPTextTransformerImpl(const XCLIPTextConfig& c) {
  embeddings = register_module("embeddings", XCLIPTextEmbeddings(c));
  encoder = register_module("encoder", XCLIPEncoder(EncoderOptions::make(c.hidden_size, c.intermediate_size, c.num_attention_heads,
                                                                          c.num_hidden_layers, c.layer_norm_eps, c.hidden_act)));
  final_layer_norm = register_module("final_layer_norm", LayerNorm(c.hidden_size, c.layer_norm_eps));
}

EncoderOutput XCLIPTextTransformerImpl::forward(const torch::Tensor& input_ids_in, const torch::Tensor& attention_mask,
                                                bool output_hidden_states, bool output_attentions) {
  const torch::Tensor input_ids = input_ids_in.view({-1, input_ids_in.size(-1)});
  const int64_t batch = input_ids.size(0), length = input_ids.size(1);
  torch::Tensor hidden = embeddings(input_ids);
  const auto options = hidden.options();
  const double min_value = dtype_min(hidden.scalar_type());
  // Causal mask [B, 1, L, L]: 0 on and below the diagonal, the dtype's minimum above it.
  torch::Tensor causal = at::full({length, length}, min_value, options).triu(1).expand({batch, 1, length, length});
  torch::Tensor padding;
  if (attention_mask.defined()) {
    if (attention_mask.sizes() != input_ids.sizes())
      throw Error("attention_mask shape " + std::string(c10::str(attention_mask.sizes())) + " differs from input_ids " +
                  std::string(c10::str(input_ids.sizes())));
    // [B, L] of 0/1 -> [B, 1, L, L]: the minimum where the key is padding.
    torch::Tensor keep = attention_mask.to(at::kBool).view({batch, 1, 1, length});
    padding = at::where(keep, at::zeros({}, options), at::full({}, min_value, options)).expand({batch, 1, length, length});
  }
  EncoderOutput out = encoder(hidden, padding, causal, output_hidden_states, output_attentions);
  out.last_hidden_state = final_layer_norm(out.last_hidden_state);
  const torch::Tensor eos_positions = input_ids.argmax(-1);
  const int64_t width = out.last_hidden_state.size(2);
  out.pooler_output =
      out.last_hidden_state.gather(1, eos_positions.view({batch, 1, 1}).expand({batch, 1, width})).squeeze(1);
  return out;
}

}  // namespace xsearch::model
