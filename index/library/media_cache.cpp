// The media cache's layout and its clean-up (include/xsearch/media_cache.hpp). Plain file system work: no
// FFmpeg here, so the light `xsearch` (remove) and ingest share it.
#include "xsearch/media_cache.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include "io/atomic_file.hpp"

namespace xsearch {

namespace fs = std::filesystem;

fs::path media_cache_dir(const fs::path& db) { return fs::path(db.string() + ".thumbs"); }

fs::path video_cache_dir(const fs::path& db, int64_t video_id) { return media_cache_dir(db) / std::to_string(video_id); }

fs::path thumbnail_path(const fs::path& db, int64_t video_id, int64_t clip_id) {
  return video_cache_dir(db, video_id) / (std::to_string(clip_id) + ".jpg");
}

fs::path rendition_path(const fs::path& db, int64_t video_id, int64_t first_clip, int64_t last_clip, const std::string& extension) {
  return video_cache_dir(db, video_id) / (std::to_string(first_clip) + "-" + std::to_string(last_clip) + "." + extension);
}

bool is_media_cache_name(const std::string& name) {
  // Temporary files: AtomicFile's "<name>.<host>.<pid>.<16 hex>.tmp", or "<name>.tmp.<pid>.<n>" that
  // versions before it left.
  static const std::regex pattern(
      R"(([0-9]+\.jpg|[0-9]+-[0-9]+\.(mp4|webm))(\.tmp\.[0-9]+\.[0-9]+|\.[A-Za-z0-9_-]{1,32}\.[0-9]{1,9}\.[0-9a-f]{16}\.tmp)?)");
  return std::regex_match(name, pattern);
}

int64_t drop_video_cache(const fs::path& db, int64_t video_id) noexcept {
  try {
    const fs::path dir = video_cache_dir(db, video_id);
    std::error_code ec;
    // The folder itself must be a real folder: a symbolic link there (to anywhere) is left alone.
    if (!fs::is_directory(fs::symlink_status(dir, ec))) return 0;
    int64_t removed = 0;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path p = it->path();
      if (!fs::is_regular_file(fs::symlink_status(p, ec)) || !is_media_cache_name(p.filename().string())) continue;
      if (fs::remove(p, ec)) ++removed;
    }
    fs::remove(dir, ec);  // only when empty: anything else someone put there stays
    return removed;
  } catch (...) {
    return 0;
  }
}

bool write_cache_file(const fs::path& path, const std::string& bytes) noexcept {
  try {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return false;
    atomic_write(path, bytes);
    return true;
  } catch (...) {
    return false;
  }
}

int64_t remove_dead_temp_files(const fs::path& db) noexcept {
  try {
    int64_t removed = 0;
    std::error_code ec;
    const fs::path root = media_cache_dir(db);
    if (!fs::is_directory(fs::symlink_status(root, ec))) return 0;
    // "." host "." as this host's temporary names carry it, before "<pid>.<random>.tmp".
    const std::string host = "." + temp_host_name() + ".";
    for (fs::directory_iterator dirs(root, ec), end; !ec && dirs != end; dirs.increment(ec)) {
      std::error_code it_ec;
      if (!fs::is_directory(fs::symlink_status(dirs->path(), it_ec))) continue;  // never through a link
      // The cache files that have temporary files of this host here; remove_stale_temp_files judges each
      // of their temporary files (pid running or not, exact shape), so that one parser decides.
      std::set<std::string> targets;
      for (fs::directory_iterator files(dirs->path(), it_ec); !it_ec && files != end; files.increment(it_ec)) {
        std::string name = files->path().filename().string();
        if (name.size() < 4 || name.compare(name.size() - 4, 4, ".tmp") != 0) continue;
        name.resize(name.size() - 4);
        for (int field = 0; field < 2; ++field) name.resize(std::min(name.size(), name.rfind('.')));  // the random part, the pid
        name += ".";
        const std::size_t at = name.size() >= host.size() ? name.size() - host.size() : std::string::npos;
        if (at == std::string::npos || name.compare(at, host.size(), host) != 0) continue;  // another host's, or another shape
        if (is_media_cache_name(name.substr(0, at))) targets.insert(name.substr(0, at));
      }
      for (const auto& target : targets) removed += remove_stale_temp_files(dirs->path() / target);
    }
    return removed;
  } catch (...) {
    return 0;
  }
}

}  // namespace xsearch
