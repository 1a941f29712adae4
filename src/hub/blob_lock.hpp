// The lock huggingface_hub takes around the download of one blob, so that xsearch and Python tools
// never write the same blob at once: an exclusive flock(2) on <cache>/.locks/models--ORG--NAME/<etag>.lock
// (huggingface_hub's file_download.py, through the filelock package: LOCK_EX|LOCK_NB, polled).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace xsearch::hub {

class BlobLock {
 public:
  // Takes the lock, polling every 100 ms; calls on_wait once when another process holds it. Throws
  // xsearch::Error naming the lock file when it is still held after `timeout_seconds`.
  BlobLock(const std::filesystem::path& cache, const std::filesystem::path& lock_file, double timeout_seconds,
           const std::function<void(const std::string&)>& on_wait, const std::string& file);
  ~BlobLock();
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace xsearch::hub
