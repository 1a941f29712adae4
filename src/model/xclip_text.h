// The text tower: XCLIPTextEmbeddings and XCLIPTextTransformer (CLIP's causal text transformer).
#pragma once

#include "model/xclip_encoder.h"
#include "xsearch/config.hpp"

namespace xsearch::model {

class XCLIPTextEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit XCLIPTextEmbeddingsImpl(const XCLIPTextConfig& config);
  // input_ids [T, L] -> [T, L, hidden]
  torch::Tensor forward(const torch::Tensor& input_ids);
  Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(XCLIPTextEmbeddings);

class XCLIPTextTransformerImpl : public torch::nn::Module {
 public:
  explicit XCLIPTextTransformerImpl(const XCLIPTextConfig& config);
  // input_ids [T, L] (int64), attention_mask [T, L] of 0/1 or undefined ->
  // last_hidden_state [T, L, hidden] (after final_layer_norm), pooler_output [T, hidden] taken at
  // input_ids.argmax(-1) as the reference does (the first EOS, EOS being the largest id).
  EncoderOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                        bool output_hidden_states = false, bool output_attentions = false);
  XCLIPTextEmbeddings embeddings{nullptr};
  XCLIPEncoder encoder{nullptr};
  LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(XCLIPTextTransformer);

// The most negative finite value of a floating dtype: what the reference's masks use (torch.finfo.min).
double dtype_min(c10::ScalarType dtype);

}  // namespace xsearch::model
