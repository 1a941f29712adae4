// A descriptor read by FFmpeg (media/descriptor_input.hpp): positioned reads, so that the descriptor's
// own offset, which its owner may share, never matters.
#include "media/descriptor_input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "xsearch/error.hpp"

namespace xsearch::media {

namespace {

constexpr int kBufferBytes = 64 * 1024;  // FFmpeg's own file protocol reads in blocks of this order

}  // namespace

DescriptorInput::DescriptorInput(int fd, std::function<bool()> interrupted) : interrupted_(std::move(interrupted)) {
  fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) throw Error(std::string("cannot duplicate a file descriptor (") + std::strerror(errno) + ")");
  auto* buffer = static_cast<unsigned char*>(av_malloc(kBufferBytes));
  if (buffer) io_ = avio_alloc_context(buffer, kBufferBytes, 0, this, &DescriptorInput::read, nullptr, &DescriptorInput::seek);
  if (!io_) {
    av_free(buffer);
    ::close(fd_);
    throw Error("out of memory");
  }
}

DescriptorInput::~DescriptorInput() {
  if (io_) av_freep(&io_->buffer);  // FFmpeg may have replaced the buffer: free the one it holds
  avio_context_free(&io_);
  ::close(fd_);
}

int DescriptorInput::read(void* self, uint8_t* buf, int size) {
  auto* in = static_cast<DescriptorInput*>(self);
  if (in->interrupted_ && in->interrupted_()) return AVERROR_EXIT;
  for (;;) {
    const ssize_t n = ::pread(in->fd_, buf, static_cast<size_t>(size), in->pos_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return AVERROR(errno);
    if (n == 0) return AVERROR_EOF;
    in->pos_ += n;
    return static_cast<int>(n);
  }
}

int64_t DescriptorInput::seek(void* self, int64_t offset, int whence) {
  auto* in = static_cast<DescriptorInput*>(self);
  struct stat st {};
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
      return ::fstat(in->fd_, &st) == 0 ? static_cast<int64_t>(st.st_size) : AVERROR(errno);
    case SEEK_SET:
      break;
    case SEEK_CUR:
      offset += in->pos_;
      break;
    case SEEK_END:
      if (::fstat(in->fd_, &st) != 0) return AVERROR(errno);
      offset += static_cast<int64_t>(st.st_size);
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (offset < 0) return AVERROR(EINVAL);
  in->pos_ = offset;
  return offset;
}

int open_descriptor_input(AVFormatContext** fmt, const DescriptorInput& input, const char* name, AVDictionary** options) {
  if (!*fmt) *fmt = avformat_alloc_context();
  if (!*fmt) return AVERROR(ENOMEM);
  (*fmt)->pb = input.io();
  (*fmt)->flags |= AVFMT_FLAG_CUSTOM_IO;
  return avformat_open_input(fmt, name, nullptr, options);
}

}  // namespace xsearch::media
