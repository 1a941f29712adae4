// config.json against the checkpoint's tensors, before the model is built: every size that decides how
// much memory the model takes (widths, vocabulary, positions, layer counts) must be the size the weights
// have. A config that says intermediate_size 2e8 would otherwise reach LibTorch as a 50 GB allocation
// and fail there, far from its cause. No LibTorch here: the check reads the safetensors header only.
#pragma once

#include <filesystem>

#include "xsearch/config.hpp"
#include "xsearch/safetensors.hpp"

namespace xsearch::model {

// Throws xsearch::Error("CONFIG: KEY is V, but WEIGHTS's TENSOR is [SHAPE] ...") on the first size that
// differs. A tensor the file lacks is left to the loader (which names it as missing).
void check_config_against_weights(const XCLIPConfig& config, const SafetensorsFile& weights, const std::filesystem::path& config_json);

}  // namespace xsearch::model
