// A model folder at a glance, for `xsearch model list`: its weights' state, geometry and size on disk.
#include "xsearch/checkpoint.hpp"
#include "xsearch/config.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace fs = std::filesystem;

ModelSummary summarize_model(const fs::path& dir) {
  ModelSummary s;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto size = fs::file_size(e.path(), ec);  // follows a hub snapshot's links to their blobs
    if (!ec) s.bytes += static_cast<int64_t>(size);
  }
  s.weights_file = ready_weights_file(dir);
  s.ready = !s.weights_file.empty();
  if (s.ready) {
    try {
      const bool converted = SafetensorsFile(s.weights_file).metadata().count("xsearch_converted_from") > 0;
      s.weights = converted ? "converted" : "model.safetensors";
    } catch (const Error& e) {  // a damaged model.safetensors of the folder's own
      s.weights = "model.safetensors";
      s.ready = false;
      s.error = e.what();
    }
    if (s.weights_file.parent_path() != fs::absolute(dir).lexically_normal()) {  // stored beside the snapshots
      const auto size = fs::file_size(s.weights_file, ec);
      if (!ec) s.bytes += static_cast<int64_t>(size);
    }
  } else if (fs::exists(dir / "pytorch_model.bin", ec)) {
    s.weights = "pytorch_model.bin";
  }
  try {
    const XCLIPConfig c = load_xclip_config(dir / "config.json");
    s.patch_size = c.vision_config.patch_size;
    s.num_frames = c.vision_config.num_frames;
    s.image_size = c.vision_config.image_size;
    s.prompt_layers = c.prompt_layers;
  } catch (const Error& e) {
    if (s.error.empty()) s.error = e.what();
  }
  return s;
}

}  // namespace xsearch
