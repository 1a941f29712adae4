// Opening a library index file for reading: the one place that opens it, takes its size and parses its
// header (index_header.hpp) against that size, for the index (vector_index.cpp) and its added-clips file
// (list_index.cpp) alike. What the kinds do with the file next (map it, hand it to FAISS) is theirs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "index_header.hpp"

namespace xsearch {

// An open index file: its descriptor (closed with this object unless release()d), size and checked header.
class OpenedIndexFile {
 public:
  OpenedIndexFile(int fd, uint64_t size, const IndexHeader& header) : fd_(fd), size_(size), header_(header) {}
  ~OpenedIndexFile();
  OpenedIndexFile(OpenedIndexFile&& other) noexcept;
  OpenedIndexFile& operator=(OpenedIndexFile&&) = delete;
  OpenedIndexFile(const OpenedIndexFile&) = delete;
  OpenedIndexFile& operator=(const OpenedIndexFile&) = delete;

  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  const IndexHeader& header() const { return header_; }
  // The descriptor, now the caller's to close.
  int release();

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  IndexHeader header_;
};

// Opens `path` and parses its header against its size: nullopt when there is no such file, xsearch::Error
// naming the file and the cause when it cannot be opened or read or its header is not valid.
std::optional<OpenedIndexFile> open_index_file(const std::filesystem::path& path);

}  // namespace xsearch
