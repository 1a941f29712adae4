// A library of either backend with random clips of dimension 32, the brute-force answer to compare its
// searches with, and the index size limit set for one test (tests/test_list_index.cpp,
// tests/test_list_search_guards.cpp).
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <random>

#include "helpers.hpp"
#include "library_backends.hpp"
#include "library_helpers.hpp"
#include "xsearch/library.hpp"

namespace xsearch::test {

constexpr int kListDim = 32;

// Libraries above this many clips get a lists index instead of the exact file.
struct ScopedExactLimit {
  explicit ScopedExactLimit(const char* value) { ::setenv("XSEARCH_EXACT_LIMIT", value, 1); }
  ~ScopedExactLimit() { ::unsetenv("XSEARCH_EXACT_LIMIT"); }
};

// The kind field of an index file's header (bytes 8-11): 1 exact, 3 a lists main file, 4 its added clips.
inline uint32_t index_kind(const std::filesystem::path& file) {
  const std::string header = read_file(file).substr(0, 12);
  REQUIRE(header.size() == 12);
  uint32_t kind = 0;
  std::memcpy(&kind, header.data() + 8, 4);
  return kind;
}

// A library of either backend (a shared one keeps its index files in the cache, here under tmp).
struct ListFixture {
  explicit ListFixture(const std::string& which)
      : backend(which), cache("XDG_CACHE_HOME", (tmp / "cache").string()), db(new_library(which, tmp.path())), lib(Library::open(db, true)) {
    lib.claim_model({"m", "fp", kListDim});
  }
  std::string backend;
  TempDir tmp;
  ScopedEnv cache;
  std::string db;
  Library lib;
  std::mt19937 rng{21};
  std::map<int64_t, std::vector<float>> vectors;  // every clip stored, by id
  std::filesystem::path index() const { return lib.index_path(); }
  std::filesystem::path added() const { return lib.index_path().string() + "-add"; }
  // A video of the given clips' embeddings (random ones when `embeddings` is empty).
  void add_video(const std::string& name, int clips, std::vector<std::vector<float>> embeddings = {}) {
    std::vector<ClipData> data;
    for (int c = 0; c < clips; ++c)
      data.push_back({c * 4.0, c * 4.0 + 4, embeddings.empty() ? random_unit(rng, kListDim) : embeddings.at(static_cast<std::size_t>(c)), {}});
    VideoRecord r;
    r.path = "/v/" + name + ".mp4";
    r.fingerprint = r.path;
    const auto saved = lib.save_video(r, data);
    for (std::size_t i = 0; i < data.size(); ++i) vectors[saved.clip_ids[i]] = data[i].embedding;
  }
  void remove(const std::string& name) {
    const auto v = lib.find_video("/v/" + name + ".mp4");
    REQUIRE(v);
    for (const auto& c : lib.clips_of_video(v->id)) vectors.erase(c.id);
    lib.remove_video(v->id);
  }
  // The exact best k by brute force, with the library's own exact score.
  std::vector<std::pair<int64_t, float>> exact(const std::vector<float>& q, std::size_t k) const {
    std::vector<std::pair<int64_t, float>> all;
    for (const auto& [id, v] : vectors) {
      double dot = 0;
      for (int d = 0; d < kListDim; ++d) dot += static_cast<double>(v[d]) * q[d];
      all.emplace_back(id, static_cast<float>(dot));
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
    all.resize(std::min(k, all.size()));
    return all;
  }
};

}  // namespace xsearch::test
