// Fuzz target: the tokenizer's input text (ClipTokenizer::encode and decode in src/text/) with CLIP's real
// vocabulary and merges, read from the reference fixtures ($XSEARCH_FIXTURES/tokenizer, else the folder
// the build was configured with). Any byte string is a valid query: encoding must not throw, ids must be in
// the vocabulary, and decoding them must work.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "xsearch/error.hpp"
#include "xsearch/tokenizer.hpp"

namespace {
std::unique_ptr<xsearch::ClipTokenizer> tokenizer;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* env = std::getenv("XSEARCH_FIXTURES");
  const std::string fixtures = env && *env ? env : XSEARCH_FIXTURES;
  try {
    tokenizer = std::make_unique<xsearch::ClipTokenizer>(xsearch::ClipTokenizer::load(fixtures + "/tokenizer"));
  } catch (const xsearch::Error& e) {
    std::fprintf(stderr, "fuzz_tokenizer_encode: %s (set XSEARCH_FIXTURES)\n", e.what());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto ids = tokenizer->encode(text);
  if (ids.size() > tokenizer->max_length()) __builtin_trap();  // encode truncates to the context
  for (const auto id : ids)
    if (id < 0 || static_cast<std::size_t>(id) >= tokenizer->vocab_size()) __builtin_trap();
  tokenizer->decode(ids, true);
  const auto plain = tokenizer->encode_plain(text);
  tokenizer->decode(plain, false);
  return 0;
}
