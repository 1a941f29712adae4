// X-CLIP's text side (XCLIPTextTransformer + text_projection) without LibTorch, on the CBLAS of OpenBLAS,
// reading the weights in place from the memory-mapped checkpoint. A query needs only this: a process that
// does not load LibTorch starts in milliseconds instead of half a second. Parity with the reference is
// tested on the fixtures like the LibTorch model's.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "xsearch/config.hpp"

namespace xsearch {

class NativeTextEncoder {
 public:
  // Reads DIR/config.json and the text weights of DIR/model.safetensors (F32 in place; F16/BF16 converted).
  static NativeTextEncoder load(const std::filesystem::path& model_dir);
  NativeTextEncoder(NativeTextEncoder&&) noexcept;
  NativeTextEncoder& operator=(NativeTextEncoder&&) noexcept;
  ~NativeTextEncoder();

  const XCLIPConfig& config() const;
  // get_text_features of one token sequence (no padding): [projection_dim]. `last_hidden`, when given,
  // receives the final-layer-normed states [L * hidden].
  std::vector<float> encode(const std::vector<int64_t>& ids, std::vector<float>* last_hidden = nullptr) const;

 private:
  struct Impl;
  explicit NativeTextEncoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xsearch
