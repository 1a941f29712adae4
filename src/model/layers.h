// The basic layers of the reference (nn.Linear, nn.LayerNorm, nn.Embedding and the activations), with the
// same parameter names ("weight", "bias"). Unlike torch::nn's, their parameters are allocated uninitialised:
// every value comes from the checkpoint, and random initialisation of 196M parameters would only slow
// loading down.
#pragma once

#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "model/int8_linear.h"

namespace xsearch::model {

// y = x W^T + b, W: [out, in]; `bias` false where the reference has bias=False.
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x);
  // From now on forward runs in dynamic int8 from a copy of the current weights (a later change to
  // `weight` is not seen); throws xsearch::Error where that is impossible (see Int8DynamicLinear).
  void quantize_int8();
  torch::Tensor weight, bias;
  std::shared_ptr<const Int8DynamicLinear> int8;
};
TORCH_MODULE(Linear);

class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  double eps;
};
TORCH_MODULE(LayerNorm);

class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t dim);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;
};
TORCH_MODULE(Embedding);

// The reference's ACT2FN[name] for the names X-CLIP configs use; throws xsearch::Error on an unknown name.
enum class Activation { QuickGelu, Gelu, GeluTanh, Relu, Silu };
Activation activation_from_name(const std::string& name);
torch::Tensor apply_activation(Activation act, const torch::Tensor& x);

}  // namespace xsearch::model
