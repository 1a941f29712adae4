// Stage 3 of ingest, embed: a batch of preprocessed clips -> the model's video embeddings (normalised,
// so inner products are cosines), plus the prompt tokens in float16 when the library keeps them.
#pragma once

#include <vector>

#include "pipeline/ingest/decode.hpp"
#include "xsearch/library.hpp"
#include "xsearch/model.hpp"

namespace xsearch::pipeline {

class Embedder {
 public:
  Embedder(const Model& model, const DecodeSettings& settings, bool store_prompts);
  // One ClipData per item of `batch`, in order (start, end, embedding, prompt tokens).
  std::vector<ClipData> embed(const std::vector<ClipItem>& batch) const;

 private:
  const Model& model_;
  const DecodeSettings& settings_;
  bool store_prompts_;
};

}  // namespace xsearch::pipeline
