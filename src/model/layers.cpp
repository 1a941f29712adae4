#include "model/layers.h"

#include <ATen/ATen.h>

#include "xsearch/error.hpp"

namespace xsearch::model {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool has_bias) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}));
  if (has_bias) bias = register_parameter("bias", torch::empty({out_features}));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  if (int8) return int8->forward(x);
  return at::linear(x, weight, bias);
}

void LinearImpl::quantize_int8() { int8 = std::make_shared<const Int8DynamicLinear>(weight, bias); }

LayerNormImpl::LayerNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::empty({dim}));
  bias = register_parameter("bias", torch::empty({dim}));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t dim) {
  weight = register_parameter("weight", torch::empty({num_embeddings, dim}));
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) { return at::embedding(weight, ids); }

Activation activation_from_name(const std::string& name) {
  if (name == "quick_gelu") return Activation::QuickGelu;
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::GeluTanh;
  if (name == "relu") return Activation::Relu;
  if (name == "silu") return Activation::Silu;
  throw Error("unsupported activation \"" + name + "\"");
}

torch::Tensor apply_activation(Activation act, const torch::Tensor& x) {
  switch (act) {
    // The reference's QuickGELUActivation: x * sigmoid(1.702 x).
    case Activation::QuickGelu: return x * at::sigmoid(x * 1.702);
    case Activation::Gelu: return at::gelu(x);
    case Activation::GeluTanh: return at::gelu(x, "tanh");
    case Activation::Relu: return at::relu(x);
    case Activation::Silu: return at::silu(x);
  }
  return x;
}

}  // namespace xsearch::model
