// Fuzz target: opening the exact vector index file (index/exact_file.cpp: header, sizes, memory map) and
// searching it. The file's own generation and dimension (header bytes 8..15 and 24..31) are passed as the
// expected ones, so that the fuzzer gets past those checks to the sizes; a file that opens must be
// searchable for any k, and return ids that are in the file.
#include <algorithm>
#include <cstring>
#include <vector>

#include "exact_file.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 32) return 0;
  int64_t generation = 0, dim = 0;
  std::memcpy(&generation, data + 8, 8);
  std::memcpy(&dim, data + 24, 8);
  const auto path = fuzz::write_file("library.index", data, size);
  const auto file = xsearch::ExactFile::open(path, generation, dim);
  if (!file) return 0;
  // A file that opened holds n ids and n x dim floats, so dim is bounded by its size.
  if (dim <= 0 || file->size() < 0 || static_cast<uint64_t>(dim) > size) __builtin_trap();
  const std::vector<float> query(static_cast<std::size_t>(dim), 0.5f);
  for (const int64_t k : {int64_t{1}, int64_t{3}, file->size(), file->size() + 1}) {
    const auto hits = file->search(query.data(), k);
    if (static_cast<int64_t>(hits.size()) > std::min(k, file->size())) __builtin_trap();
  }
  return 0;
}
