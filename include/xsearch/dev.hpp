// Developer commands behind `xsearch dev ...`: reference-parity tools that read and write safetensors.
#pragma once

#include <filesystem>
#include <string>

namespace xsearch {

// Runs the model of `model_dir` in float32 on `device` (the CPU unless told) on the tensors of `inputs` (input_ids,
// attention_mask, pixel_values, optionally input_ids_pair / attention_mask_pair) and writes every output
// and intermediate under the reference fixture's names to `out`.
void dev_forward(const std::filesystem::path& model_dir, const std::filesystem::path& inputs,
                 const std::filesystem::path& out, bool interpolate_pos_encoding, int threads = 0,
                 const std::string& device = "cpu");

}  // namespace xsearch
