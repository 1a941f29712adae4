#include "pipeline/watch/pending_changes.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "pipeline/ingest/roots.hpp"
#include "pipeline/paths.hpp"

namespace xsearch::pipeline {

void PendingChanges::add(const WatchChange& change, Clock::time_point now) {
  last_event_ = now;
  auto it = changes_.find(change.path);
  if (it == changes_.end()) {
    changes_.emplace(change.path, Entry{change, now, now});
    return;
  }
  // The latest kind wins among a file's; a folder's wins over a file's, and a folder gone over one come
  // in (its pass takes the watch root, which covers the folder come back).
  auto rank = [](WatchChange::Kind k) { return k == WatchChange::Kind::FolderGone ? 2 : k == WatchChange::Kind::FolderIn ? 1 : 0; };
  if (rank(change.kind) >= rank(it->second.change.kind)) it->second.change.kind = change.kind;
  it->second.last = now;
}

bool PendingChanges::due(Clock::time_point now) const {
  if (changes_.empty()) return false;
  if (now - last_event_ >= debounce_) return true;
  for (const auto& [path, e] : changes_)
    if (now - e.first >= max_wait_ && now - e.last >= debounce_) return true;
  return false;
}

std::vector<WatchChange> PendingChanges::take(Clock::time_point now) {
  std::vector<WatchChange> out;
  for (auto it = changes_.begin(); it != changes_.end();) {
    if (now - it->second.last >= debounce_) {
      out.push_back(it->second.change);
      it = changes_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void PendingChanges::restore(const std::vector<WatchChange>& changes, Clock::time_point now) {
  // As seen a debounce ago: ready again at the next due(), which the caller paces.
  for (const auto& c : changes) changes_.emplace(c.path, Entry{c, now - debounce_, now - debounce_});
}

std::vector<std::string> pass_roots(const std::vector<WatchChange>& changes, const std::vector<std::string>& watch_roots,
                                    const std::function<bool(const std::string&)>& holds) {
  std::set<std::string> roots;
  auto exists = [](const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
  };
  for (const auto& c : changes) {
    if (c.kind == WatchChange::Kind::Overflow) {
      roots.insert(watch_roots.begin(), watch_roots.end());
      continue;
    }
    const std::string root = root_of(c.path, watch_roots);
    if (root.empty()) continue;
    switch (c.kind) {
      case WatchChange::Kind::Written: {
        // Gone again before the pass (a temporary file): judged as a deletion.
        if (!exists(c.path)) {
          if (holds(c.path)) roots.insert(c.path);
          break;
        }
        const std::string folder = std::filesystem::path(c.path).parent_path().string();
        roots.insert(path_under(folder, root) ? folder : root);
        break;
      }
      case WatchChange::Kind::Gone:
        if (holds(c.path)) roots.insert(c.path);
        else if (exists(c.path)) roots.insert(std::filesystem::path(c.path).parent_path().string());  // replaced meanwhile
        break;
      case WatchChange::Kind::FolderIn:
        if (exists(c.path)) roots.insert(c.path);
        if (holds(c.path)) roots.insert(root);  // moved out and back, or replaced: judge what was there
        break;
      case WatchChange::Kind::FolderGone:
        if (holds(c.path)) roots.insert(root);
        if (exists(c.path) && c.path != root) roots.insert(c.path);  // moved back in meanwhile
        break;
      case WatchChange::Kind::Overflow:
        break;
    }
  }
  // An outer root covers what lies under it (ingest does the same; doing it here keeps the pass's line short).
  std::vector<std::string> out;
  for (const auto& r : roots)
    if (std::none_of(out.begin(), out.end(), [&](const std::string& o) { return path_under(r, o); })) out.push_back(r);
  return out;
}

}  // namespace xsearch::pipeline
