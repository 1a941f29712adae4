// Model weights in either format a checkpoint ships in. xsearch computes from safetensors only; a folder or
// hub snapshot that has only `pytorch_model.bin` (torch.save's zip format) is converted once into a
// `model.safetensors`, by a reader that executes nothing (see src/io/torch_pickle.cpp), and every command then
// reads that file.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "xsearch/safetensors.hpp"

namespace xsearch {

// False only in a model-only build made without libzip (XSEARCH_MODEL_ONLY on a machine that lacks it).
bool pytorch_checkpoint_supported();

// Every tensor of a `pytorch_model.bin`, as stored (float32, float16, bfloat16, ... kept as they are; views
// gathered into contiguous tensors), in the file's order. Throws xsearch::Error("PATH: cause") for a file
// that is truncated, not a torch.save zip, names a global other than those a state dict needs, or whose
// storages do not match what its pickle says.
NamedTensors read_pytorch_checkpoint(const std::filesystem::path& bin);

// Writes the tensors of `bin`, sorted by name, to the safetensors file `out` through a temporary file and a
// rename, holding one tensor in memory at a time. `metadata` goes into the header (with "format": "pt").
void convert_pytorch_checkpoint(const std::filesystem::path& bin, const std::filesystem::path& out,
                                std::map<std::string, std::string> metadata = {});

// The weights of a model folder, as a safetensors file:
//  - DIR/model.safetensors when the folder has one (unless it is our own conversion of a
//    DIR/pytorch_model.bin that has changed since);
//  - else the conversion of DIR/pytorch_model.bin, made now when missing or stale, stored
//      for a hub snapshot (.../models--ORG--NAME/snapshots/COMMIT): models--ORG--NAME/xsearch/COMMIT/
//        (beside the snapshots, outside the hub's own files);
//      for another folder: in the folder itself when it is writable;
//      otherwise (or when the above cannot be written): $XDG_CACHE_HOME/xsearch/converted/KEY/
//        (~/.cache/...), KEY naming the .bin's absolute path.
// Throws xsearch::Error naming the folder when it has neither file.
std::filesystem::path model_weights_file(const std::filesystem::path& model_dir);

// Where model_weights_file(model_dir) finds its file now, without converting anything: the path, or an
// empty path when a conversion is still to be made (or the folder has no weights).
std::filesystem::path ready_weights_file(const std::filesystem::path& model_dir);

// What `xsearch model list` shows of a model folder.
struct ModelSummary {
  // "model.safetensors" (the folder's own), "converted" (from pytorch_model.bin, already made),
  // "pytorch_model.bin" (to be converted on first use), or "none".
  std::string weights = "none";
  bool ready = false;                    // the weights can be read now without converting
  std::filesystem::path weights_file;    // when ready
  int64_t bytes = 0;                     // the folder's files (links followed) plus a conversion stored elsewhere
  // The geometry from config.json; all 0 when it does not load (`error` then says why).
  int64_t patch_size = 0, num_frames = 0, image_size = 0, prompt_layers = 0;
  std::string error;
};
ModelSummary summarize_model(const std::filesystem::path& model_dir);

}  // namespace xsearch
