// NumPy's .npy format (version 1.0) for float32 arrays in C order: what numpy.load reads without
// pickle. Used by `xsearch export --embeddings` (the clip vectors) and `xsearch query --vector-out`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace xsearch {

// The header size the writers use: room for any (rows, dim) shape, so that a file written row by row
// can reserve it first and fill in the row count at the end.
constexpr std::size_t kNpyHeaderBytes = 128;

// The header (magic, version 1.0, length, dict, padding, newline) of a little-endian float32 array of
// `shape`, exactly `bytes` long (a multiple of 64). Throws xsearch::Error when the dict does not fit.
std::string npy_header(const std::vector<int64_t>& shape, std::size_t bytes = kNpyHeaderBytes);

// Writes `values` (the product of `shape` floats) as a .npy file at `path`: a temporary file beside it,
// flushed to disk, then renamed over it. Errors name the file.
void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape, const float* values);

}  // namespace xsearch
