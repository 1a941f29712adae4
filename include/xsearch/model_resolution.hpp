// Where a model lives, from what the user typed (--model, XSEARCH_MODEL).
#pragma once

#include <filesystem>
#include <string>

namespace xsearch {

// A model given as a folder, or as a hub id ("microsoft/xclip-base-patch32") already in the Hugging Face
// cache ($HF_HOME/hub, else ~/.cache/huggingface/hub). Throws with what to do when it is neither.
std::filesystem::path resolve_model_dir(const std::string& spec);

}  // namespace xsearch
