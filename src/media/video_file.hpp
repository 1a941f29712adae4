// A library video opened for reading only when it is what the library indexed (README: "Search page"):
// a regular file, never a FIFO, device or socket (a FIFO blocks its reader for good, a device may never
// end), and a symlink only when its target has the size and time the library recorded, so that a link
// put in a video's place cannot make the server hand out another file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "xsearch/error.hpp"

namespace xsearch::media {

// The file is not there, not a regular file, or not the one indexed; the server answers 404 with it.
struct VideoFileError : Error {
  using Error::Error;
};

// An open file descriptor, closed on destruction.
class VideoFile {
 public:
  VideoFile(int fd, int64_t size) : fd_(fd), size_(size) {}
  VideoFile(VideoFile&& o) noexcept : fd_(o.fd_), size_(o.size_) { o.fd_ = -1; }
  VideoFile& operator=(VideoFile&&) = delete;
  VideoFile(const VideoFile&) = delete;
  ~VideoFile();
  int fd() const { return fd_; }
  int64_t size() const { return size_; }
  // Gives up the descriptor (the caller closes it).
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
  int64_t size_;
};

// What the library recorded of the file (VideoRecord's size and mtime_ns).
struct IndexedFile {
  int64_t size = 0, mtime_ns = 0;
};

// Opens `path` without blocking on a FIFO (O_NONBLOCK) and checks it as above; without `indexed`, any
// regular file passes (a symlink included). Throws VideoFileError("path: cause").
VideoFile open_video_file(const std::filesystem::path& path, const std::optional<IndexedFile>& indexed = std::nullopt);

// Tests only: when set, called with the path right after a file has passed the checks above, so that a
// test can swap the path for another file and see that what gets read is still the file checked.
extern void (*after_video_file_check)(const std::filesystem::path& path);

// The same check alone, for a caller that only needs to know (the file itself is read elsewhere).
inline void require_video_file(const std::filesystem::path& path, const std::optional<IndexedFile>& indexed = std::nullopt) {
  (void)open_video_file(path, indexed);
}

}  // namespace xsearch::media
