#include "model/int8_linear.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include "xsearch/error.hpp"

namespace xsearch::model {

namespace {

// Preference order: FBGEMM-based engines first (the PyTorch wheels' default), then oneDNN (what Debian's
// LibTorch 1.13 has, built without FBGEMM).
bool pick_engine(at::QEngine* out) {
  const auto& supported = at::globalContext().supportedQEngines();
  for (const at::QEngine e : {at::kX86, at::kFBGEMM, at::kONEDNN})
    for (const at::QEngine s : supported)
      if (s == e) {
        *out = e;
        return true;
      }
  return false;
}

c10::OperatorHandle quantized_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
}

}  // namespace

std::string Int8DynamicLinear::engine() {
  at::QEngine e{};
  if (!pick_engine(&e)) return "";
  return e == at::kONEDNN ? "onednn" : e == at::kX86 ? "x86" : "fbgemm";
}

Int8DynamicLinear::Int8DynamicLinear(const at::Tensor& weight, const at::Tensor& bias) {
  at::QEngine engine{};
  if (!pick_engine(&engine))
    throw Error("int8 quantisation needs a LibTorch built with FBGEMM or oneDNN; this one has neither");
  if (!weight.device().is_cpu() || weight.scalar_type() != at::kFloat)
    throw Error("int8 quantisation runs on the CPU in float32 only");
  // FBGEMM multiplies uint8 by int8 into 16-bit sums that saturate without VNNI; PyTorch's own
  // quantize_dynamic therefore uses 7-bit activations (reduce_range) with it. oneDNN needs no such margin.
  reduce_range_ = engine != at::kONEDNN;
  // Symmetric per-channel scales: each output row keeps its own range, which per-tensor scales would
  // flatten to the widest row's.
  const at::Tensor w = weight.detach().contiguous();
  const at::Tensor scales = (w.abs().amax({1}) / 127.0).clamp_min(1e-12).to(at::kDouble);
  const at::Tensor zero_points = at::zeros({w.size(0)}, at::TensorOptions().dtype(at::kLong));
  const at::Tensor qweight = at::quantize_per_channel(w, scales, zero_points, 0, at::kQInt8);
  // linear_prepack packs for the global engine: set it for the call only.
  auto& context = at::globalContext();
  const at::QEngine before = context.qEngine();
  context.setQEngine(engine);
  torch::jit::Stack stack{qweight, bias.defined() ? c10::IValue(bias.detach().contiguous()) : c10::IValue()};
  try {
    quantized_op("quantized::linear_prepack").callBoxed(&stack);
  } catch (...) {
    context.setQEngine(before);
    throw;
  }
  context.setQEngine(before);
  packed_ = std::move(stack.at(0));
}

at::Tensor Int8DynamicLinear::forward(const at::Tensor& x) const {
  const at::Tensor flat = x.reshape({-1, x.size(-1)}).contiguous();
  torch::jit::Stack stack{flat, packed_, reduce_range_};
  static const c10::OperatorHandle op = quantized_op("quantized::linear_dynamic");
  op.callBoxed(&stack);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  const at::Tensor y = stack.at(0).toTensor();
  shape.back() = y.size(-1);
  return y.view(shape);
}

}  // namespace xsearch::model
