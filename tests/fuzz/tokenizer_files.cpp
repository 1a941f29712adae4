// Fuzz target: loading a tokenizer folder (ClipTokenizer::load in src/text/clip_tokenizer.cpp). One input
// carries vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json, separated by lines
// that read "=====" (a part left out is a file left out). A folder that loads must encode and decode a few
// texts. Bad input must end in xsearch::Error.
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "xsearch/error.hpp"
#include "xsearch/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kNames[] = {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"};
  const auto dir = fuzz::scratch_dir() / "tokenizer";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  const auto parts = fuzz::split_parts(data, size, 4);
  for (std::size_t i = 0; i < parts.size(); ++i) fuzz::write_file("tokenizer/" + std::string(kNames[i]), parts[i]);
  try {
    const auto tok = xsearch::ClipTokenizer::load(dir);
    for (const char* text : {"a photo of a cat", "", "  Hello,  World!! 123 </w> <|endoftext|>", "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5"}) {
      const auto ids = tok.encode(text);
      tok.decode(ids, true);
      tok.decode(ids, false);
    }
    const auto batch = tok.encode_batch({"a", "a much longer text than the other one"});
    batch.ids_tensor();
    batch.mask_tensor();
  } catch (const xsearch::Error&) {
  }
  return 0;
}
