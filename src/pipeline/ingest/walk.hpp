// Stage 1a of ingest, walk: find the videos under the folders a user names: recursive, hidden entries
// skipped unless asked, directory symlinks not followed (no loops), videos recognised by their content
// (animated GIFs and PNGs too: FFmpeg reads them as video; a still one is found out when decoded).
// The walk also records what it saw and what it could NOT see: every folder it listed completely (with
// its device and every name in it, hidden ones included), roots that are missing, folders it could not
// list and entries it could not stat. Only a complete listing proves that a name is absent
// (presence.hpp); nothing behind a failure is ever taken for deleted.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pipeline/ingest/exclusions.hpp"
#include "pipeline/paths.hpp"

namespace xsearch::pipeline {

struct FoundFile {
  std::string path;  // absolute, normalised
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t dev = 0;  // st_dev of the entry itself (lstat): the file system that holds its name
};

// A folder listed to the end in this run.
struct ListedFolder {
  int64_t dev = 0;              // its st_dev
  std::set<std::string> names;  // every entry but "." and "..", hidden and skipped ones included
};

struct WalkResult {
  std::vector<FoundFile> files;  // sorted by path
  // Roots (absolute, normalised) that do not exist or cannot be read, with the cause.
  std::vector<std::pair<std::string, std::string>> missing_roots;
  // Folders whose listing failed and entries whose stat failed for any reason but ENOENT: the library's
  // videos at or under these paths are neither checked nor removed.
  std::vector<std::string> unreadable;
  // Every folder listed completely: the roots and the folders under them, and the parent folder of each
  // root that is a file or is missing (listed, not walked: what proves a file root deleted).
  std::map<std::string, ListedFolder> listed;
  // Regular files passed over as not videos (path, why): by extension (text, subtitles, still images),
  // empty, or by content (FFmpeg's probe finds audio, an image or nothing it knows). Hidden files are not
  // looked at, so not listed.
  std::vector<std::pair<std::string, std::string>> not_videos;
  bool stopped = false;  // `stop` said so: the walk ended early and proves nothing
  // Entries under the roots that an exclusion kept out (folders not walked, files not looked at).
  int64_t excluded = 0;
};

// Walks `roots` (absolute, normalised: normalize_roots). `on_error(path, cause)` reports what cannot be
// read; the walk goes on. `stop` (may be empty) is asked before each entry; when it returns true the walk
// ends at once with `stopped` set. `rules` (may be null): the library's exclusions; an entry below a root
// that they match is skipped (a root itself is walked as named).
WalkResult find_videos(const std::vector<std::string>& roots, bool include_hidden,
                       const std::vector<std::filesystem::path>& exclude,
                       const std::function<void(const std::string&, const std::string&)>& on_error,
                       const std::function<bool()>& stop = {}, const ExcludeRules* rules = nullptr);

}  // namespace xsearch::pipeline
