// A linear layer run with dynamic int8 quantisation on the CPU: the weight quantised once to int8 per
// output channel, the activations quantised on each call from their own range, through LibTorch's
// quantized::linear_prepack / quantized::linear_dynamic (issue 22: a measured route to a faster CPU ingest).
// LibTorch's C++ API has no quantize_dynamic helper, and these ops are reached through the dispatcher so
// that the code compiles against any LibTorch; which x86 engine runs them (FBGEMM, x86 or oneDNN) depends
// on how that LibTorch was built.
#pragma once

#include <string>

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

namespace xsearch::model {

class Int8DynamicLinear {
 public:
  // weight [out, in] and bias [out] (or undefined), float32 on the CPU. Throws xsearch::Error saying why
  // when this LibTorch has no x86 int8 engine or the weight is elsewhere.
  Int8DynamicLinear(const at::Tensor& weight, const at::Tensor& bias);
  // x [..., in] float32 on the CPU -> [..., out] float32.
  at::Tensor forward(const at::Tensor& x) const;
  // The engine the weights are packed for: "fbgemm", "x86" or "onednn"; empty when this LibTorch has none
  // of them (QNNPACK, the only other one, is slower than float32 on x86 and is not used).
  static std::string engine();

 private:
  c10::IValue packed_;
  bool reduce_range_;
};

}  // namespace xsearch::model
