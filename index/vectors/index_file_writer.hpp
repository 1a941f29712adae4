// Writing an index file safely: an AtomicFile (io/atomic_file.hpp: a temporary file of our own beside the
// target, every write, fsync and the rename checked, the folder synced, the temporary file removed on any
// failure) with what the index needs on top: placed writes, preallocation and cancelling between chunks.
// Temporary files left by a killed process on this host are found by their exact name pattern and removed
// by the next writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "io/atomic_file.hpp"

namespace xsearch {

class IndexFileWriter {
 public:
  // Creates the temporary file. `cancelled` (may be empty) is asked between chunks of data.
  IndexFileWriter(const std::filesystem::path& path, const std::function<bool()>& cancelled);
  IndexFileWriter(const IndexFileWriter&) = delete;
  IndexFileWriter& operator=(const IndexFileWriter&) = delete;

  // Appends bytes; throws xsearch::Error naming the file on a failed write, IndexWriteCancelled on cancel.
  void write(const void* data, std::size_t bytes);
  void pad_to(uint64_t offset);
  // Writes at `offset` (at or after what was appended) without moving the append position; the file is
  // extended to `size` first by reserve() so that the placed parts need not arrive in order.
  void write_at(uint64_t offset, const void* data, std::size_t bytes);
  void reserve(uint64_t size);
  uint64_t written() const { return written_; }
  // fsync, close, rename over the target, fsync the folder.
  void commit();

  // Throws IndexWriteCancelled (after removing the temporary file) when the caller asked to stop.
  void check_cancelled();

 private:
  // One write (at < 0: appended) or pwrite (at the offset) of at most a chunk, retried on EINTR; the bytes
  // written, or a failure.
  std::size_t write_some(const char* p, std::size_t bytes, int64_t at);
  std::filesystem::path path_;
  std::function<bool()> cancelled_;
  AtomicFile file_;  // removes the temporary file when destroyed unless committed
  uint64_t written_ = 0;
};

// Removes temporary files beside `index` whose process is gone; returns how many. Only names of exactly the
// AtomicFile pattern with this host's name, or INDEX.PID.tmp (what versions before host names wrote), are
// touched, and only when kill(PID, 0) says no such process.
int remove_stale_index_temp_files(const std::filesystem::path& index);

}  // namespace xsearch
