// Fills an XCLIPModel from a safetensors checkpoint, checked both ways: every parameter must be in the file
// with its exact shape, and every tensor of the file must be a parameter (or one of the keys we ignore on
// purpose). Errors name the file, the tensor, and the expected and found shapes.
#pragma once

#include <string>
#include <vector>

#include "model/xclip_model.h"
#include "xsearch/safetensors.hpp"

namespace xsearch::model {

struct LoadReport {
  std::size_t tensors_loaded = 0;
  std::size_t values_loaded = 0;
  std::vector<std::string> ignored_keys;  // present in the file, deliberately unused
};

// `only_prefixes`: when not empty, only parameters under these prefixes are copied (for example
// {"text_model.", "text_projection."} to answer text queries without reading the vision weights); the
// others must still be present and of the right shape.
LoadReport load_checkpoint(XCLIPModelImpl& model, const SafetensorsFile& file,
                           const std::vector<std::string>& only_prefixes = {});

}  // namespace xsearch::model
