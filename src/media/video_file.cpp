// Opening a library video safely (media/video_file.hpp).
#include "media/video_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xsearch::media {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISDIR(mode)) return "a folder";
  return "not a regular file";
}

int64_t mtime_of(const struct stat& st) { return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec; }

}  // namespace

void (*after_video_file_check)(const std::filesystem::path&) = nullptr;

VideoFile::~VideoFile() {
  if (fd_ >= 0) ::close(fd_);
}

VideoFile open_video_file(const std::filesystem::path& path, const std::optional<IndexedFile>& indexed) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for good. O_NOFOLLOW first,
  // so that a link is known for what it is without a separate lstat that it could be swapped after.
  constexpr int kFlags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  bool link = false;
  int fd = ::open(name.c_str(), kFlags | O_NOFOLLOW);
  if (fd < 0 && errno == ELOOP) {
    link = true;
    fd = ::open(name.c_str(), kFlags);
  }
  if (fd < 0) {
    const int e = errno;
    throw VideoFileError(name + ": cannot open (" + std::strerror(e) + ")");
  }
  VideoFile file(fd, 0);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    throw VideoFileError(name + ": cannot read its status (" + std::strerror(e) + ")");
  }
  if (!S_ISREG(st.st_mode)) throw VideoFileError(name + ": " + kind_of(st.st_mode) + " where the library has a video; not opened");
  if (link && indexed && (static_cast<int64_t>(st.st_size) != indexed->size || mtime_of(st) != indexed->mtime_ns))
    throw VideoFileError(name + ": a symlink to another file than the one indexed (its size or time differs); not opened");
  // Reads of a regular file never block; the flag only mattered for the open.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if (after_video_file_check) after_video_file_check(path);
  return VideoFile(file.release(), static_cast<int64_t>(st.st_size));
}

}  // namespace xsearch::media
