#include "pipeline/ingest/roots.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pipeline/paths.hpp"
#include "xsearch/ingest.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

namespace {

// Whether the walk of `outer` reaches `inner` (which lies under it): no hidden name on the way (unless
// hidden entries are walked), and no folder symlink (the walk does not follow them; a symlink to a file
// at the end is taken).
bool walk_reaches(const std::string& outer, const std::string& inner, bool include_hidden) {
  std::filesystem::path at(outer);
  for (const auto& part : std::filesystem::path(inner).lexically_relative(outer)) {
    if (part.empty() || part == ".") continue;
    if (!include_hidden && part.string()[0] == '.') return false;
    at /= part;
    struct stat link {}, st {};
    if (::lstat(at.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      const bool file_at_end = at == inner && ::stat(at.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
      if (!file_at_end) return false;
    }
  }
  return true;
}

}  // namespace

std::vector<std::string> normalize_roots(const std::vector<std::filesystem::path>& roots, bool include_hidden) {
  std::vector<std::string> all;
  for (const auto& r : roots) all.push_back(absolute_path(r));
  // Shorter paths first: an outer root comes before what lies inside it.
  std::vector<std::string> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<std::string> kept;
  for (const auto& r : sorted) {
    const bool covered = std::any_of(kept.begin(), kept.end(), [&](const std::string& outer) {
      return path_under(r, outer) && walk_reaches(outer, r, include_hidden);
    });
    if (!covered) kept.push_back(r);
  }
  // In the order the user gave them (the run's record reads as typed).
  std::vector<std::string> out;
  for (const auto& r : all)
    if (std::find(kept.begin(), kept.end(), r) != kept.end() && std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  return out;
}

std::string root_of(const std::string& path, const std::vector<std::string>& roots) {
  std::string best;
  for (const auto& r : roots)
    if (path_under(path, r) && r.size() > best.size()) best = r;
  return best;
}

}  // namespace xsearch::pipeline

namespace xsearch {

void check_ingest_roots(const std::vector<std::filesystem::path>& roots, const std::filesystem::path& db) {
  std::vector<std::pair<std::string, std::string>> unreadable;
  for (const auto& r : roots) {
    const std::string path = absolute_path(r);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return;  // one root is there: the run decides the rest
    unreadable.emplace_back(path, errno == ENOENT ? "no such file or folder" : std::strerror(errno));
  }
  if (unreadable.empty()) return;
  // A root the library holds videos under is a drive away (offline), which the run reports and keeps.
  try {
    std::error_code ec;
    if (is_shared_library(db.string()) || std::filesystem::exists(db, ec)) {
      for (const auto& v : Library::open(db, false).videos())
        for (const auto& [root, cause] : unreadable)
          if (path_under(v.path, root)) return;
    }
  } catch (const Error&) {
    return;  // a library that cannot be read now: the run says why
  }
  std::string message;
  for (const auto& [root, cause] : unreadable) message += (message.empty() ? "" : "; ") + root + ": " + cause;
  throw Error(message + " (nothing to ingest)");
}

}  // namespace xsearch
