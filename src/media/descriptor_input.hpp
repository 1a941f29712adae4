// FFmpeg reading a file through a descriptor we already opened and checked (media/video_file.hpp), not
// through its name: a name can be swapped for a FIFO or another file between the check and FFmpeg's own
// open, a descriptor cannot. The demuxer still gets the real name, for its format hints and our messages.
#pragma once

extern "C" {
#include <libavformat/avformat.h>
}

#include <functional>

namespace xsearch::media {

class DescriptorInput {
 public:
  // Takes a duplicate of `fd` (the caller keeps its own). `interrupted` (may be empty) is asked at each
  // read, as FFmpeg's interrupt callback is for a file it opens itself. Throws xsearch::Error when the
  // descriptor cannot be duplicated or memory runs out.
  explicit DescriptorInput(int fd, std::function<bool()> interrupted = {});
  ~DescriptorInput();
  DescriptorInput(const DescriptorInput&) = delete;
  DescriptorInput& operator=(const DescriptorInput&) = delete;

  // The reader for AVFormatContext::pb (with AVFMT_FLAG_CUSTOM_IO); it must outlive the context.
  AVIOContext* io() const { return io_; }

 private:
  static int read(void* self, uint8_t* buf, int size);
  static int64_t seek(void* self, int64_t offset, int whence);

  int fd_ = -1;
  int64_t pos_ = 0;
  std::function<bool()> interrupted_;
  AVIOContext* io_ = nullptr;
};

// Opens `name` for reading from `input` into a new context (as avformat_open_input, which frees the
// context on failure). `options` as there.
int open_descriptor_input(AVFormatContext** fmt, const DescriptorInput& input, const char* name, AVDictionary** options);

}  // namespace xsearch::media
