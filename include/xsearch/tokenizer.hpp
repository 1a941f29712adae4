// The CLIP byte-level BPE tokenizer, giving the ids of the reference fast tokenizer (CLIPTokenizerFast
// as XCLIPProcessor calls it: truncation to the model's maximum length, EOS kept).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xsearch/host_tensor.hpp"

namespace xsearch {

struct TokenBatch {
  std::vector<std::vector<int64_t>> input_ids;       // padded to the longest with the pad id
  std::vector<std::vector<int64_t>> attention_mask;  // 1 on tokens, 0 on padding
  HostTensor ids_tensor() const;                     // int64 [T, L]
  HostTensor mask_tensor() const;                    // int64 [T, L]
};

class ClipTokenizer {
 public:
  // Reads DIR/vocab.json and DIR/merges.txt, and the special tokens and maximum length from
  // DIR/tokenizer_config.json / DIR/special_tokens_map.json when present. Throws xsearch::Error naming the
  // file and the defect.
  static ClipTokenizer load(const std::filesystem::path& dir);
  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
  ~ClipTokenizer();

  // bos + tokens + eos, cut to max_length() keeping the eos. Invalid UTF-8 is replaced by U+FFFD.
  std::vector<int64_t> encode(std::string_view text) const;
  // The tokens alone (no bos/eos, no truncation).
  std::vector<int64_t> encode_plain(std::string_view text) const;
  TokenBatch encode_batch(const std::vector<std::string>& texts) const;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;
  std::vector<std::string> batch_decode(const std::vector<std::vector<int64_t>>& ids, bool skip_special_tokens = false) const;

  int64_t bos_id() const;
  int64_t eos_id() const;
  int64_t pad_id() const;
  std::size_t max_length() const;
  std::size_t vocab_size() const;

 private:
  struct Impl;
  explicit ClipTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xsearch
