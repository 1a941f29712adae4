// What the walk proved about the disk, for the two decisions that remove or re-point a video (the sweep,
// and moves in the plan). A video is gone only on proof: its root is online, no folder above it failed to
// list, and stat says ENOENT. Any other error is a failure of that file, never a deletion.
//
// A root is offline when it is missing, cannot be listed, or no longer holds any of the videos the library
// has under it (an empty mount point, another drive mounted there): nothing under an offline root is checked or removed.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/ingest/walk.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

class Presence {
 public:
  Presence(const WalkResult& walk, const std::vector<std::string>& roots, const Library& library);

  struct OfflineRoot {
    std::string path, cause;
    int64_t videos = 0;  // the library's videos under it
  };
  const std::vector<OfflineRoot>& offline_roots() const { return offline_; }
  bool offline(const std::string& path) const;

  enum class Verdict { Gone, Present, Unknown, Offline };
  // For a path the library holds: gone (ENOENT on proof), present, unknown (`cause` says why, empty when
  // a folder above it could not be listed: that failure is reported by the walk) or offline.
  Verdict check(const std::string& path, std::string& cause) const;

 private:
  std::vector<std::string> unreadable_;
  std::vector<OfflineRoot> offline_;
};

}  // namespace xsearch::pipeline
