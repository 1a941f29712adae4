#include "pipeline/watch/inotify_tree.hpp"

#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pipeline/paths.hpp"
#include "xsearch/error.hpp"

namespace xsearch::pipeline {

namespace {

// IN_MODIFY too: a copy that takes longer than the debounce keeps its file busy, so that it is not ingested
// half written (IN_CLOSE_WRITE alone comes only at the end, IN_CREATE only at the start).
constexpr uint32_t kMask = IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF |
                           IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW;

std::string join(const std::string& folder, const std::string& name) { return folder == "/" ? "/" + name : folder + "/" + name; }

}  // namespace

InotifyTree::InotifyTree(bool include_hidden, ExcludeRules rules, std::function<void(const std::string&, const std::string&)> on_error)
    : include_hidden_(include_hidden), rules_(std::move(rules)), on_error_(std::move(on_error)) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) throw Error(std::string("watch: cannot start inotify (") + std::strerror(errno) + ")");
}

InotifyTree::~InotifyTree() {
  if (fd_ >= 0) ::close(fd_);
}

bool InotifyTree::skipped(const std::string& path, bool is_folder) const {
  const std::string name = std::filesystem::path(path).filename().string();
  if (!include_hidden_ && !name.empty() && name[0] == '.') return true;
  return rules_.excludes_entry(path, is_folder);
}

void InotifyTree::add_tree(const std::string& folder) {
  // A folder watched already is walked again all the same: after an overflow, folders made meanwhile get
  // their watches.
  if (!by_path_.count(folder)) {
    const int wd = ::inotify_add_watch(fd_, folder.c_str(), kMask);
    if (wd < 0) {
      // ENOENT / ENOTDIR: gone already, or not a folder: nothing to watch there.
      if (errno != ENOENT && errno != ENOTDIR) on_error_(folder, std::string("cannot watch: ") + std::strerror(errno));
      return;
    }
    // A folder reached by two paths (a bind mount) has one wd: the last path named wins.
    if (const auto old = by_wd_.find(wd); old != by_wd_.end()) by_path_.erase(old->second);
    by_wd_[wd] = folder;
    by_path_[folder] = wd;
  }
  DIR* d = ::opendir(folder.c_str());
  if (!d) return;
  std::vector<std::string> folders;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = join(folder, name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && !skipped(path, true)) folders.push_back(path);  // symlinks not followed, as the walk
  }
  ::closedir(d);
  for (const auto& f : folders) add_tree(f);
}

void InotifyTree::forget_tree(const std::string& folder) {
  for (auto it = by_path_.lower_bound(folder); it != by_path_.end() && path_under(it->first, folder);) {
    ::inotify_rm_watch(fd_, it->second);  // the kernel queues IN_IGNORED for it, found unknown and dropped
    by_wd_.erase(it->second);
    it = by_path_.erase(it);
  }
}

void InotifyTree::handle(int wd, uint32_t mask, const std::string& name, std::vector<WatchChange>& out) {
  const auto at = by_wd_.find(wd);
  if (at == by_wd_.end()) return;  // a watch already forgotten
  const std::string folder = at->second;
  if (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
    // A watched folder itself went (a root deleted or moved away, or a folder whose parent event came
    // first): its videos are judged by the ingest of what holds it.
    out.push_back({WatchChange::Kind::FolderGone, folder});
    forget_tree(folder);
    return;
  }
  if (mask & IN_IGNORED) {
    by_path_.erase(folder);
    by_wd_.erase(at);
    return;
  }
  if (name.empty()) return;
  const std::string path = join(folder, name);
  const bool is_folder = (mask & IN_ISDIR) != 0;
  if (skipped(path, is_folder) || rules_.excluded(path)) return;
  if (is_folder) {
    if (mask & (IN_CREATE | IN_MOVED_TO)) {
      add_tree(path);
      out.push_back({WatchChange::Kind::FolderIn, path});
    } else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
      forget_tree(path);
      out.push_back({WatchChange::Kind::FolderGone, path});
    }
    return;
  }
  if (mask & (IN_DELETE | IN_MOVED_FROM)) out.push_back({WatchChange::Kind::Gone, path});
  else if (mask & (IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO)) out.push_back({WatchChange::Kind::Written, path});
}

bool InotifyTree::read(int timeout_ms, std::vector<WatchChange>& out) {
  struct pollfd p {fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, timeout_ms);
  if (ready < 0) {
    if (errno == EINTR) return false;
    throw Error(std::string("watch: poll on inotify failed (") + std::strerror(errno) + ")");
  }
  if (ready == 0) return true;
  alignas(struct inotify_event) char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) return false;
      throw Error(std::string("watch: reading inotify failed (") + std::strerror(errno) + ")");
    }
    for (ssize_t off = 0; off < n;) {
      const auto* e = reinterpret_cast<const struct inotify_event*>(buffer + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + e->len);
      if (e->mask & IN_Q_OVERFLOW) {
        out.push_back({WatchChange::Kind::Overflow, ""});
        continue;
      }
      handle(e->wd, e->mask, e->len > 0 ? std::string(e->name) : std::string(), out);
    }
  }
}

}  // namespace xsearch::pipeline
