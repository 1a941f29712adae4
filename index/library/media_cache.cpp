// The media cache's layout and its clean-up (include/xsearch/media_cache.hpp). Plain file system work: no
// FFmpeg here, so the light `xsearch` (remove) and ingest share it.
#include "xsearch/media_cache.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <regex>

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
  static const std::regex pattern(R"(([0-9]+\.jpg|[0-9]+-[0-9]+\.(mp4|webm))(\.tmp\.[0-9]+\.[0-9]+)?)");
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

fs::path cache_temp_path(const fs::path& path) {
  static std::atomic<int> counter{0};
  return path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

bool write_cache_file(const fs::path& path, const std::string& bytes) noexcept {
  try {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return false;
    const fs::path tmp = cache_temp_path(path);
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out.close();
      if (!out) {
        fs::remove(tmp, ec);
        return false;
      }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
      fs::remove(tmp, ec);
      return false;
    }
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace xsearch
