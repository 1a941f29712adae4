// Stage 1a of ingest, walk: find the videos under the folders a user names: recursive, hidden entries
// skipped unless asked, directory symlinks not followed (no loops), videos recognised by their content.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/paths.hpp"

namespace xsearch::pipeline {

struct FoundFile {
  std::string path;  // absolute, normalised
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

// `on_error(path, cause)` reports folders that cannot be read; the walk goes on.
std::vector<FoundFile> find_videos(const std::vector<std::filesystem::path>& roots, bool include_hidden,
                                   const std::vector<std::filesystem::path>& exclude,
                                   const std::function<void(const std::string&, const std::string&)>& on_error);

}  // namespace xsearch::pipeline
