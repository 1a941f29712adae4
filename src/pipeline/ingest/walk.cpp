#include "pipeline/ingest/walk.hpp"

#include <algorithm>
#include <set>

#include "xsearch/video.hpp"

namespace xsearch::pipeline {

namespace fs = std::filesystem;

namespace {

// Extensions that are video containers: such files skip the content probe.
const std::set<std::string> kVideoExtensions = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".m2ts",
                                                ".mts", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ogv", ".vob"};
// Extensions never worth probing (common non-video files in video folders).
const std::set<std::string> kSkipExtensions = {".txt", ".srt", ".vtt", ".ass", ".json", ".xml", ".nfo", ".jpg",
                                               ".jpeg", ".png", ".gif", ".webp", ".heic", ".db", ".db-wal", ".db-shm",
                                               ".faiss", ".index", ".md", ".pdf", ".zip", ".part", ".tmp"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.' && name != "." && name != "..";
}

}  // namespace

std::vector<FoundFile> find_videos(const std::vector<fs::path>& roots, bool include_hidden, const std::vector<fs::path>& exclude,
                                   const std::function<void(const std::string&, const std::string&)>& on_error) {
  std::vector<FoundFile> found;
  std::set<std::string> seen;
  std::set<std::string> excluded;
  for (const auto& e : exclude) excluded.insert(fs::absolute(e).lexically_normal().string());
  auto consider = [&](const fs::path& p) {
    const std::string path = p.string();
    if (excluded.count(path) || seen.count(path)) return;
    FoundFile f;
    f.path = path;
    if (!stat_file(path, f.size, f.mtime_ns) || f.size == 0) return;
    const std::string ext = lower(p.extension().string());
    if (kSkipExtensions.count(ext)) return;
    if (!kVideoExtensions.count(ext) && !probe_video_container(p)) return;
    seen.insert(path);
    found.push_back(std::move(f));
  };
  for (const auto& root_in : roots) {
    const fs::path root = fs::absolute(root_in).lexically_normal();
    std::error_code ec;
    const auto status = fs::status(root, ec);
    if (ec || !fs::exists(status)) {
      on_error(root.string(), "no such file or folder");
      continue;
    }
    if (!fs::is_directory(status)) {
      consider(root);  // a file named on the command line is taken even if hidden
      continue;
    }
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) {
      on_error(root.string(), ec.message());
      continue;
    }
    while (it != end) {
      const fs::path p = it->path();
      if (!include_hidden && hidden(p)) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
      } else if (it->is_regular_file(ec)) {
        consider(p.lexically_normal());
      }
      it.increment(ec);
      if (ec) {
        on_error(p.string(), ec.message());
        ec.clear();
      }
    }
  }
  std::sort(found.begin(), found.end(), [](const FoundFile& a, const FoundFile& b) { return a.path < b.path; });
  return found;
}

}  // namespace xsearch::pipeline
