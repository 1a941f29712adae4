// write_random_checkpoint: a model folder with random weights of a config's exact layout, for tests and
// benchmarks (a real checkpoint is 786 MB and may not be at hand).
#include <cmath>
#include <cstring>
#include <fstream>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "model/xclip_model.h"
#include "xsearch/error.hpp"
#include "xsearch/model.hpp"
#include "xsearch/safetensors.hpp"

namespace xsearch {

void write_random_checkpoint(const std::filesystem::path& dir, const XCLIPConfig& config, uint64_t seed, DType dtype) {
  at::ScalarType type;
  switch (dtype) {
    case DType::F32: type = at::kFloat; break;
    case DType::F16: type = at::kHalf; break;
    case DType::BF16: type = at::kBFloat16; break;
    default: throw Error("write_random_checkpoint: dtype must be F32, F16 or BF16");
  }
  torch::NoGradGuard no_grad;
  at::manual_seed(seed);
  model::XCLIPModel module(config);
  // Each tensor is converted to bytes as it is drawn; the module itself is freed at the end.
  NamedTensors tensors;
  for (const auto& item : module->named_parameters()) {
    const std::string& name = item.key();
    const auto sizes = item.value().sizes();
    torch::Tensor value;
    const bool is_norm_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 &&
                                (name.find("norm") != std::string::npos || name.find("_ln.") != std::string::npos);
    if (name == "logit_scale") {
      value = at::full({}, config.logit_scale_init_value);
    } else if (name == "prompts_generator.alpha") {
      value = at::full(sizes, config.prompt_alpha);
    } else if (is_norm_weight) {
      value = 1.0 + 0.1 * at::randn(sizes);
    } else if (sizes.size() >= 2) {
      // Weights of scale 1/sqrt(fan_in) keep activations of order one through every layer.
      const int64_t fan_in = name == "prompts_visual_projection" ? sizes[0] : item.value()[0].numel();
      value = at::randn(sizes) / std::sqrt(static_cast<double>(fan_in));
      if (name.find("embedding") != std::string::npos) value = at::randn(sizes) * 0.5;
    } else {
      value = 0.02 * at::randn(sizes);
    }
    value = value.to(type).contiguous();
    HostTensor t;
    t.dtype = dtype;
    t.shape.assign(sizes.begin(), sizes.end());
    t.bytes.resize(static_cast<std::size_t>(value.numel()) * value.element_size());
    std::memcpy(t.bytes.data(), value.data_ptr(), t.bytes.size());
    tensors.emplace_back(name, std::move(t));
  }
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "config.json");
    out << xclip_config_to_json(config) << "\n";
    if (!out) throw Error((dir / "config.json").string() + ": write failed");
  }
  write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
}

}  // namespace xsearch
