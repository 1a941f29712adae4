// A read-only memory map of an index file that survives the file being cut short under it. A file
// rewritten in place (truncated, then written again: `cp`, a restore, `rsync --inplace`) takes the pages
// beyond its new end away from every map of it, and reading them raised SIGBUS, which killed the query or
// the server. Here a SIGBUS inside a registered map puts zero pages in place of the lost ones and marks the
// map lost, so the read goes on (over zeros) and intact() afterwards says that its answer cannot be used:
// the caller falls back as for a damaged index file. intact() also compares the file's size and mtime
// with those at mapping time, so a rewrite that did not reach the pages read is caught too.
//
// The handler is installed once, process-wide, the first time a file is mapped; a SIGBUS anywhere else goes
// to the handler that was there before (the default one kills the process as it always did). It works on
// any thread (OpenBLAS scores on its own threads), so there is no jump out of the scan: the scan finishes.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace xsearch {

class MappedFile {
 public:
  // Maps `size` bytes of `fd` (open on `path`; not taken over: a duplicate is kept for intact()).
  // `populate`: read every page now (MAP_POPULATE) rather than as they are visited.
  static std::unique_ptr<MappedFile> map(const std::filesystem::path& path, int fd, uint64_t size, bool populate);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  // False once a page of the map was lost (the file cut short) or the file's size or mtime changed since
  // it was mapped: what was read from it may be zeros or another file's bytes.
  bool intact() const;

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  int fd_ = -1;
  int slot_ = -1;  // its entry in the handler's table; -1 when the table was full (the size check remains)
  struct timespec mtime_ {};
};

}  // namespace xsearch
