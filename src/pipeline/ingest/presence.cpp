#include "pipeline/ingest/presence.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "pipeline/paths.hpp"

namespace xsearch::pipeline {

Presence::Presence(const WalkResult& walk, const std::vector<std::string>& roots, const Library& library)
    : unreadable_(walk.unreadable) {
  std::set<std::string> found;
  for (const auto& f : walk.files) found.insert(f.path);
  const auto videos = library.videos();
  for (const auto& root : roots) {
    OfflineRoot r{root, "", 0};
    for (const auto& [missing, cause] : walk.missing_roots)
      if (missing == root) r.cause = cause;
    bool holds_any = false;
    for (const auto& v : videos) {
      if (!path_under(v.path, root)) continue;
      ++r.videos;
      // Held: the walk found it, or it is there but no longer counts as a video (hidden, emptied, ...).
      struct stat st {};
      if (!holds_any && (found.count(v.path) || ::stat(v.path.c_str(), &st) == 0)) holds_any = true;
    }
    // None of the library's videos where it had some: an empty mount point, or another drive mounted
    // there. Nothing is removed on that guess; a folder whose videos were all deleted or replaced on
    // purpose is pruned with --prune-offline.
    if (r.cause.empty() && r.videos > 0 && !holds_any)
      r.cause = "holds none of the " + std::to_string(r.videos) + " videos the library has there (an empty mount point, another drive?)";
    if (!r.cause.empty()) offline_.push_back(std::move(r));
  }
}

bool Presence::offline(const std::string& path) const {
  for (const auto& r : offline_)
    if (path_under(path, r.path)) return true;
  return false;
}

Presence::Verdict Presence::check(const std::string& path, std::string& cause) const {
  if (offline(path)) return Verdict::Offline;
  for (const auto& u : unreadable_)
    if (path_under(path, u)) {
      cause.clear();  // the folder's failure is already reported
      return Verdict::Unknown;
    }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return Verdict::Present;
  if (errno == ENOENT) return Verdict::Gone;
  cause = std::string("cannot check whether it still exists: ") + std::strerror(errno);
  return Verdict::Unknown;
}

}  // namespace xsearch::pipeline
