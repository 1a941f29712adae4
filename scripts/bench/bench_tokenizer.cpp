// Tokenizer speed: microseconds per short query (cold cache and warm), and MB/s on a long text.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "xsearch/tokenizer.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR\n", argv[0]);
    return 2;
  }
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  const auto tok = xsearch::ClipTokenizer::load(argv[1]);
  const double load_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  const std::vector<std::string> queries = {"eating spaghetti", "a man playing guitar on stage",
                                            "a woman riding a horse on the beach", "time lapse of clouds over mountains",
                                            "Dog catches frisbee in the park!"};
  // First use of each query: BPE runs; later uses hit the cache of merged words.
  t0 = clock::now();
  std::size_t sink = 0;
  for (const auto& q : queries) sink += tok.encode(q).size();
  const double cold_us = std::chrono::duration<double, std::micro>(clock::now() - t0).count() / queries.size();
  const int reps = 20000;
  t0 = clock::now();
  for (int r = 0; r < reps; ++r) sink += tok.encode(queries[r % queries.size()]).size();
  const double warm_us = std::chrono::duration<double, std::micro>(clock::now() - t0).count() / reps;
  // A long text of varied words (half of them new to the cache).
  std::string text;
  for (int i = 0; text.size() < (8u << 20); ++i)
    text += "The quick brown fox " + std::to_string(i * 7919 % 100003) + " jumps over the lazy dog, café Zürich 東京! ";
  t0 = clock::now();
  sink += tok.encode_plain(text).size();
  const double secs = std::chrono::duration<double>(clock::now() - t0).count();
  std::printf("tokenizer load: %.1f ms\n", load_ms);
  std::printf("query, first time: %.1f us\n", cold_us);
  std::printf("query, cached words: %.2f us\n", warm_us);
  std::printf("long text: %.1f MB/s (%.1f MB)\n", text.size() / 1e6 / secs, text.size() / 1e6);
  return sink == 0;
}
