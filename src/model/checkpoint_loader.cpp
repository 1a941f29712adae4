#include "model/checkpoint_loader.h"

#include <cstring>
#include <set>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "xsearch/error.hpp"

namespace xsearch::model {

namespace {

// Keys that some checkpoints carry but the model does not need: older transformers versions saved the
// `position_ids` buffers (0..n-1, recomputed here). Nothing else is skipped.
const std::set<std::string> kIgnoredKeys = {
    "text_model.embeddings.position_ids",
    "vision_model.embeddings.position_ids",
};

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::F64: return at::kDouble;
    default: throw Error("dtype " + dtype_name(dtype) + " is not a floating-point weight");
  }
}

bool wanted(const std::string& name, const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return true;
  for (const auto& p : prefixes)
    if (name.compare(0, p.size(), p) == 0) return true;
  return false;
}

}  // namespace

LoadReport load_checkpoint(XCLIPModelImpl& model, const SafetensorsFile& file, const std::vector<std::string>& only_prefixes) {
  const std::string where = file.path().string() + ": ";
  torch::NoGradGuard no_grad;
  LoadReport report;
  auto params = model.named_parameters(/*recurse=*/true);
  std::set<std::string> expected;
  for (const auto& item : params) expected.insert(item.key());

  for (const auto& info : file.tensors()) {
    if (expected.count(info.name)) continue;
    if (kIgnoredKeys.count(info.name)) {
      report.ignored_keys.push_back(info.name);
      continue;
    }
    throw Error(where + "unexpected tensor \"" + info.name + "\" " + shape_to_string(info.shape) +
                " (not a parameter of XCLIPModel with this config.json)");
  }

  for (const auto& item : params) {
    const std::string& name = item.key();
    torch::Tensor param = item.value();
    const TensorInfo* info = file.find(name);
    if (!info) throw Error(where + "missing tensor \"" + name + "\" " + std::string(c10::str(param.sizes())));
    const std::vector<int64_t> want(param.sizes().begin(), param.sizes().end());
    if (info->shape != want)
      throw Error(where + "tensor \"" + name + "\" has shape " + shape_to_string(info->shape) + ", expected " +
                  shape_to_string(want) + " (does config.json match the weights?)");
    at::ScalarType source_type;
    try {
      source_type = to_scalar_type(info->dtype);
    } catch (const Error& e) {
      throw Error(where + "tensor \"" + name + "\": " + e.what());
    }
    if (!wanted(name, only_prefixes)) continue;
    const uint8_t* bytes = file.data(*info);
    const std::size_t nbytes = info->end - info->begin;
    // The mapping is read in place; only a tensor whose bytes are not aligned for its type is copied first.
    std::vector<uint8_t> aligned;
    const std::size_t element = dtype_size(info->dtype);
    if (reinterpret_cast<uintptr_t>(bytes) % element != 0) {
      aligned.assign(bytes, bytes + nbytes);
      bytes = aligned.data();
    }
    const torch::Tensor source = at::from_blob(const_cast<uint8_t*>(bytes), want, at::TensorOptions().dtype(source_type));
    param.copy_(source);  // converts F16/BF16/F64 to the parameter's dtype, and copies to its device
    ++report.tensors_loaded;
    report.values_loaded += static_cast<std::size_t>(param.numel());
  }
  return report;
}

}  // namespace xsearch::model
