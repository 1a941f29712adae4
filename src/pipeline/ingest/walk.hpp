// Stage 1a of ingest, walk: find the videos under the folders a user names: recursive, hidden entries
// skipped unless asked, directory symlinks not followed (no loops), videos recognised by their content.
// The walk also records what it could NOT see (roots that are missing, folders it could not list,
// entries it could not stat), so that nothing behind those is ever taken for deleted.
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

struct WalkResult {
  std::vector<FoundFile> files;  // sorted by path
  // Roots (absolute, normalised) that do not exist or cannot be read, with the cause.
  std::vector<std::pair<std::string, std::string>> missing_roots;
  // Folders whose listing failed and entries whose stat failed for any reason but ENOENT: the library's
  // videos at or under these paths are neither checked nor removed.
  std::vector<std::string> unreadable;
};

// `on_error(path, cause)` reports what cannot be read; the walk goes on.
WalkResult find_videos(const std::vector<std::filesystem::path>& roots, bool include_hidden,
                       const std::vector<std::filesystem::path>& exclude,
                       const std::function<void(const std::string&, const std::string&)>& on_error);

}  // namespace xsearch::pipeline
