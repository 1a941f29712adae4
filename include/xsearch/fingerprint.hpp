// Content fingerprints: of a video file (recognise a changed or moved file) and of a model folder (the
// same model under any path).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "xsearch/library.hpp"

namespace xsearch {

// A content fingerprint of a file: its size and digests of its first, middle and last megabyte. A read
// error, or a file shorter than its size, throws xsearch::Error naming the file (never a partial digest).
std::string file_fingerprint(const std::filesystem::path& path);
// The identity of a model folder (config.json and the weights' header and sampled bytes); `name` is what
// the library shows (default: the folder's absolute path).
ModelIdentity model_identity(const std::filesystem::path& model_dir, int64_t dim, const std::string& name = "");

}  // namespace xsearch
