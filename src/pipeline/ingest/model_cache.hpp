// The model an ingest embeds with, loaded at its first use and kept for the next ingest in the same
// process. `xsearch watch` runs an ingest pass per burst of changes: loading X-CLIP each time cost
// seconds per pass (about 3 s for base-patch32 on a CPU) for passes that often embed one short video.
// xsearch::ingest itself uses a cache of its own, so a plain ingest loads once and lets go at its end.
#pragma once

#include <filesystem>
#include <optional>

#include "xsearch/ingest.hpp"
#include "xsearch/model.hpp"

namespace xsearch::pipeline {

class ModelCache {
 public:
  // The model of `dir` with these options: the one held when it was loaded from the same folder with the
  // same options, else loaded now (replacing the one held). Throws what Model::load throws.
  const Model& get(const std::filesystem::path& dir, const ModelOptions& options) {
    if (!model_ || dir != dir_ || options.device != options_.device || options.dtype != options_.dtype ||
        options.threads != options_.threads || options.parts != options_.parts) {
      model_.reset();  // the old one goes first: two base-size models at once would double the memory
      model_.emplace(Model::load(dir, options));
      dir_ = dir;
      options_ = options;
      ++loads_;
    }
    return *model_;
  }
  // Lets go of the model held (watch, after its passes have been quiet a while); the next get() loads again.
  void release() { model_.reset(); }
  bool holds() const { return model_.has_value(); }
  // How many times a model was loaded, and the last load's seconds (for watch's note).
  int loads() const { return loads_; }
  double load_seconds() const { return model_ ? model_->load_seconds() : 0; }

 private:
  std::optional<Model> model_;
  std::filesystem::path dir_;
  ModelOptions options_;
  int loads_ = 0;
};

// xsearch::ingest with the model taken from `models` (loaded there at the first pass that needs it).
IngestReport ingest(const IngestOptions& options, const IngestObserver& observer, ModelCache& models);

}  // namespace xsearch::pipeline
