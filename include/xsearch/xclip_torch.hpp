// LibTorch-level access to a loaded model, for callers that want tensors with autograd (training, the
// loss's gradients, experiments). Includes LibTorch: keep it out of the CLI and the index.
#pragma once

#include <torch/types.h>

#include "model/xclip_model.h"
#include "xsearch/model.hpp"

namespace xsearch {

model::XCLIPModelImpl& torch_module(const Model& model);
torch::Device torch_device(const Model& model);

// HostTensor <-> at::Tensor (a copy each way; to_tensor puts it on `device`).
torch::Tensor to_tensor(const HostTensor& t, const torch::Device& device = torch::kCPU);
HostTensor to_host(const torch::Tensor& t);

}  // namespace xsearch
