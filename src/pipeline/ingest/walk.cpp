#include "pipeline/ingest/walk.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "xsearch/video.hpp"

namespace xsearch::pipeline {

namespace fs = std::filesystem;

namespace {

// Extensions that are video containers: such files skip the content probe.
const std::set<std::string> kVideoExtensions = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".m2ts",
                                                ".mts", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ogv", ".vob"};
// Extensions never worth probing (common non-video files in video folders), with what they are. GIF and
// PNG are probed: an animated one is a video to FFmpeg and to many users (a still one fails the decoder's
// "single image" check and is counted as not a video). WebP and HEIC sequences are not decoded by FFmpeg.
const std::map<std::string, std::string> kSkipExtensions = {
    {".txt", "text"},      {".srt", "subtitles"},  {".vtt", "subtitles"}, {".ass", "subtitles"},  {".json", "text"},
    {".xml", "text"},      {".nfo", "text"},       {".md", "text"},       {".pdf", "a document"}, {".jpg", "a still image"},
    {".jpeg", "a still image"}, {".webp", "a still image"}, {".heic", "a still image"}, {".db", "a database"},
    {".db-wal", "a database"}, {".db-shm", "a database"}, {".faiss", "an index"}, {".index", "an index"},
    {".zip", "an archive"}, {".part", "a partial download"}, {".tmp", "a temporary file"}};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

int64_t mtime_of(const struct stat& st) { return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec; }

// One walk over the roots. POSIX calls rather than std::filesystem's iterator, which cannot tell a folder
// it could not list from an empty one once permission errors are skipped.
class Walker {
 public:
  Walker(bool include_hidden, const std::vector<fs::path>& exclude,
         const std::function<void(const std::string&, const std::string&)>& on_error, const std::function<bool()>& stop,
         const ExcludeRules* rules)
      : include_hidden_(include_hidden), on_error_(on_error), stop_(stop), rules_(rules) {
    for (const auto& e : exclude) {
      excluded_.insert(absolute_path(e));
      own_name(e);
      std::error_code ec;
      const fs::path real = fs::weakly_canonical(fs::absolute(e, ec), ec);
      if (!ec) own_name(real);
    }
  }

  void root(const std::string& root) {
    if (stopped()) return;
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) {
      result_.missing_roots.emplace_back(root, errno == ENOENT ? "no such file or folder" : std::strerror(errno));
      list_parent(root);  // a file root deleted: its folder, listed without it, proves it
      return;
    }
    if (!S_ISDIR(st.st_mode)) {
      struct stat link {};
      if (::lstat(root.c_str(), &link) != 0) link = st;
      consider(root, st, link.st_dev);  // a file named on the command line is taken even if hidden
      list_parent(root);
      return;
    }
    list(root, true);
  }

  WalkResult finish() {
    std::sort(result_.files.begin(), result_.files.end(), [](const FoundFile& a, const FoundFile& b) { return a.path < b.path; });
    return std::move(result_);
  }

 private:
  bool stopped() {
    if (!result_.stopped && stop_ && stop_()) result_.stopped = true;
    return result_.stopped;
  }

  void unreadable(const std::string& path, int error) {
    on_error_(path, std::strerror(error));
    result_.unreadable.push_back(path);
  }

  // Every name in `dir`, into result_.listed; false (and errno set) when the listing failed or was cut short.
  // `inode`: the folder's inode number (0 when unknown).
  bool read_names(const std::string& dir, ListedFolder& folder, ino_t* inode = nullptr) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return false;
    struct stat st {};
    if (::fstat(::dirfd(d), &st) == 0) {
      folder.dev = static_cast<int64_t>(st.st_dev);
      if (inode) *inode = st.st_ino;
    }
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") folder.names.insert(name);
      errno = 0;
    }
    const int read_error = errno;
    ::closedir(d);
    errno = read_error;
    return read_error == 0;  // a partial listing proves nothing about the names it lacks
  }

  // The folder above a root that is a file or is missing: listed for the proof only, never walked.
  void list_parent(const std::string& root) {
    const std::string parent = fs::path(root).parent_path().string();
    if (parent.empty() || parent == root || result_.listed.count(parent)) return;
    ListedFolder folder;
    if (read_names(parent, folder)) result_.listed.emplace(parent, std::move(folder));
  }

  // Lists `dir` and everything under it.
  void list(const std::string& dir, bool is_root) {
    ListedFolder folder;
    ino_t inode = 0;
    if (!read_names(dir, folder, &inode)) {
      const int error = errno;
      if (is_root) result_.missing_roots.emplace_back(dir, std::strerror(error));
      else unreadable(dir, error);
      return;
    }
    const int64_t dev = folder.dev;
    const std::set<std::string>& names = result_.listed.emplace(dir, std::move(folder)).first->second.names;
    const auto own = inode != 0 ? own_names_.find({dev, inode}) : own_names_.end();
    for (const auto& name : names) {
      if (stopped()) return;
      if (own != own_names_.end() && library_name(own->second, name)) continue;
      if (!include_hidden_ && name[0] == '.') continue;
      const std::string path = dir == "/" ? "/" + name : dir + "/" + name;
      struct stat link {}, st {};
      if (::lstat(path.c_str(), &link) != 0) {
        if (errno != ENOENT) unreadable(path, errno);  // ENOENT: removed since the listing
        continue;
      }
      if (S_ISLNK(link.st_mode)) {
        if (::stat(path.c_str(), &st) != 0) {
          if (errno != ENOENT) unreadable(path, errno);  // a loop (ELOOP), ...; ENOENT: a dangling link
          continue;
        }
        if (S_ISDIR(st.st_mode)) continue;  // folder symlinks are not followed (no loops)
      } else {
        st = link;
      }
      if (rules_ && rules_->excludes_entry(path, S_ISDIR(st.st_mode))) {
        ++result_.excluded;  // its name stays in the listing: a stored video there is present, not gone
        continue;
      }
      if (S_ISDIR(st.st_mode)) list(path, false);
      else if (S_ISREG(st.st_mode)) consider(path, st, link.st_dev);
    }
  }

  void consider(const std::string& path, const struct stat& st, dev_t entry_dev) {
    if (library_file(path) || seen_.count(path)) return;
    seen_.insert(path);
    if (st.st_size == 0) return not_video(path, "an empty file");
    const fs::path p(path);
    const std::string ext = lower(p.extension().string());
    if (const auto skip = kSkipExtensions.find(ext); skip != kSkipExtensions.end()) return not_video(path, skip->second + " (by its name)");
    if (!kVideoExtensions.count(ext) && !probe_video_container(p)) return not_video(path, "no video that FFmpeg knows (audio, an image or another kind of file)");
    result_.files.push_back({path, static_cast<int64_t>(st.st_size), mtime_of(st), static_cast<int64_t>(entry_dev)});
  }

  // The library's own files (its database, index, their journals and temporary files, the media cache
  // `LIB.thumbs/`) when the library lives inside a walked folder: neither videos nor worth counting.
  bool library_file(const std::string& path) const {
    for (const auto& e : excluded_)
      if (path.compare(0, e.size(), e) == 0 && (path.size() == e.size() || std::string("-./").find(path[e.size()]) != std::string::npos))
        return true;
    return false;
  }

  // The library's own names, by the device and inode of the folder that holds them: a library reached by
  // another path (the root named through a symlink or a bind mount, the database through a symlink) is
  // still recognised, and its cache folder is never walked (its renditions are MP4 files that would
  // become videos of the library, compounding at every ingest).
  void own_name(const fs::path& file) {
    const fs::path abs = absolute_path(file);
    struct stat st {};
    if (!abs.has_filename() || ::stat(abs.parent_path().c_str(), &st) != 0) return;
    own_names_[{static_cast<int64_t>(st.st_dev), st.st_ino}].insert(abs.filename().string());
  }

  // `name` is one of `bases` or one of them followed by '-' or '.' (LIB.db-wal, LIB.db.thumbs, LIB.index-add,
  // LIB.db.lock, temporary files).
  static bool library_name(const std::set<std::string>& bases, const std::string& name) {
    for (const auto& b : bases)
      if (name.compare(0, b.size(), b) == 0 && (name.size() == b.size() || name[b.size()] == '-' || name[b.size()] == '.')) return true;
    return false;
  }

  void not_video(const std::string& path, const std::string& what) { result_.not_videos.emplace_back(path, "not a video: " + what); }

  bool include_hidden_;
  const std::function<void(const std::string&, const std::string&)>& on_error_;
  const std::function<bool()>& stop_;
  const ExcludeRules* rules_;
  std::set<std::string> excluded_, seen_;
  std::map<std::pair<int64_t, ino_t>, std::set<std::string>> own_names_;
  WalkResult result_;
};

}  // namespace

WalkResult find_videos(const std::vector<std::string>& roots, bool include_hidden, const std::vector<fs::path>& exclude,
                       const std::function<void(const std::string&, const std::string&)>& on_error,
                       const std::function<bool()>& stop, const ExcludeRules* rules) {
  Walker walker(include_hidden, exclude, on_error, stop, rules);
  for (const auto& r : roots) walker.root(r);
  return walker.finish();
}

}  // namespace xsearch::pipeline
