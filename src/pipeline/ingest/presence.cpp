#include "pipeline/ingest/presence.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "pipeline/ingest/roots.hpp"
#include "pipeline/paths.hpp"

namespace xsearch::pipeline {

namespace {

std::string parent_of(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }

// The first name of `path` below `folder` (which lies above it).
std::string child_toward(const std::string& folder, const std::string& path) {
  const std::size_t from = folder == "/" ? 1 : folder.size() + 1;
  const std::size_t slash = path.find('/', from);
  return path.substr(from, slash == std::string::npos ? std::string::npos : slash - from);
}

std::string join(const std::string& folder, const std::string& name) { return folder == "/" ? "/" + name : folder + "/" + name; }

bool dangling_symlink(const std::string& path) {
  struct stat link {}, st {};
  return ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode) && ::stat(path.c_str(), &st) != 0 && errno == ENOENT;
}

std::string videos_text(int64_t n) { return std::to_string(n) + (n == 1 ? " video" : " videos"); }

}  // namespace

Presence::Presence(const WalkResult& walk, const std::vector<std::string>& roots, const std::vector<VideoRecord>& videos,
                   const std::set<std::string>& excluded)
    : roots_(roots), excluded_(excluded) {
  std::map<std::string, const FoundFile*> found;
  for (const auto& f : walk.files) {
    found_.insert(f.path);
    found.emplace(f.path, &f);
  }
  std::map<std::string, std::vector<const VideoRecord*>> by_root;
  for (const auto& v : videos) {
    const std::string root = root_of(v.path, roots);
    if (root.empty() || excluded_.count(v.path)) continue;
    by_root[root].push_back(&v);
    const auto f = found.find(v.path);
    if (f != found.end() && v.dev != 0 && v.dev != f->second->dev && v.size == f->second->size && v.mtime_ns == f->second->mtime_ns)
      renumbered_.emplace(v.dev, f->second->dev);
  }
  for (const auto& root : roots) {
    std::string missing;
    for (const auto& [path, cause] : walk.missing_roots)
      if (path == root) missing = cause;
    const auto& held = by_root[root];
    std::vector<const VideoRecord*> unfound;
    for (const VideoRecord* v : held)
      if (!found_.count(v->path)) unfound.push_back(v);
    const bool file_root = held.size() == 1 && held[0]->path == root;
    if (!missing.empty() && !file_root) {
      // A missing folder root: a drive that is away (its mount point may be gone with it).
      offline_.push_back({root, missing, 0});
      for (const VideoRecord* v : unfound) offline(v->path, root, missing);
      continue;
    }
    if (missing.empty() && !held.empty() && unfound.size() == held.size()) {
      // None of its videos found by path: still present if one is there under its name (no longer taken
      // as a video), or was renamed (same size and mtime under another name); otherwise an empty mount
      // point or another drive mounted there, and nothing is removed on that guess.
      bool holds_any = false;
      for (const VideoRecord* v : held) {
        for (const auto& u : walk.unreadable)
          if (path_under(v->path, u)) holds_any = true;  // behind a folder it could not list: a failure, reported
        const auto listing = walk.listed.find(parent_of(v->path));
        if (listing != walk.listed.end() && listing->second.names.count(std::filesystem::path(v->path).filename().string())) holds_any = true;
      }
      for (const auto& f : walk.files) {
        if (holds_any) break;
        if (!path_under(f.path, root)) continue;
        for (const VideoRecord* v : held)
          if (v->size == f.size && v->mtime_ns == f.mtime_ns) holds_any = true;
      }
      if (!holds_any) {
        const std::string cause = "holds none of the " + videos_text(static_cast<int64_t>(held.size())) +
                                  " the library has there (an empty mount point, another drive?)";
        for (const VideoRecord* v : unfound) offline(v->path, root, cause);
        continue;
      }
    }
    for (const VideoRecord* v : unfound) judge(walk, *v, root, missing);
  }
}

void Presence::judge(const WalkResult& walk, const VideoRecord& v, const std::string& root, const std::string& root_cause) {
  for (const auto& u : walk.unreadable)
    if (path_under(v.path, u)) {
      judged_[v.path] = {Verdict::Unknown, ""};  // the walk reported that folder or entry
      return;
    }
  // The deepest folder above the video that was listed: its own folder, or above a vanished subfolder.
  // The search stops at the root (a file root: at its folder).
  std::string folder = parent_of(v.path);
  const ListedFolder* listing = nullptr;
  while (true) {
    const auto it = walk.listed.find(folder);
    if (it != walk.listed.end()) {
      listing = &it->second;
      break;
    }
    if (folder == root || !path_under(folder, root) || folder == parent_of(folder)) break;
    folder = parent_of(folder);
  }
  if (!listing) {
    offline(v.path, root, root_cause.empty() ? "its folder could not be listed" : root_cause);
    return;
  }
  const std::string child = child_toward(folder, v.path);
  const std::string next = join(folder, child);
  if (!listing->names.count(child)) {
    if (v.dev != 0 && v.dev != listing->dev && !renumbered_.count({v.dev, listing->dev})) {
      offline(v.path, folder, "on another device than when its videos were indexed (a drive unmounted from under it?)");
    } else if (listing->names.empty()) {
      offline(v.path, folder, "empty, where the library has videos (an empty mount point?)");
    } else {
      judged_[v.path] = {Verdict::Gone, ""};
    }
    return;
  }
  // The name is there: the video itself (not taken as a video this time), or a folder above it that this
  // run did not walk (hidden, a folder symlink), unless it is a symlink whose target is missing.
  if (dangling_symlink(next)) {
    offline(v.path, next, "a symlink whose target is missing");
    return;
  }
  if (next == v.path && !root_cause.empty()) {
    judged_[v.path] = {Verdict::Unknown, root_cause};  // a file root there that cannot be read
    return;
  }
  struct stat st {};
  if (next != v.path && ::stat(next.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    judged_[v.path] = {Verdict::Gone, ""};  // a file where its folder was
    return;
  }
  judged_[v.path] = {Verdict::Present, ""};
}

void Presence::offline(const std::string& video, const std::string& place, const std::string& cause) {
  judged_[video] = {Verdict::Offline, cause};
  for (auto& p : offline_)
    if (p.path == place) {
      ++p.videos;
      return;
    }
  offline_.push_back({place, cause, 1});
}

Presence::Verdict Presence::check(const std::string& path, std::string& cause) const {
  if (root_of(path, roots_).empty()) return Verdict::OutsideRoots;
  if (found_.count(path) || excluded_.count(path)) return Verdict::Present;
  const auto it = judged_.find(path);
  if (it == judged_.end()) {
    cause = "not judged by this run";
    return Verdict::Unknown;
  }
  cause = it->second.cause;
  return it->second.verdict;
}

}  // namespace xsearch::pipeline
