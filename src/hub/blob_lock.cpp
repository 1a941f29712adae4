#include "hub/blob_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "hub/cache_paths.hpp"
#include "xsearch/error.hpp"

namespace xsearch::hub {

namespace fs = std::filesystem;

BlobLock::BlobLock(const fs::path& cache, const fs::path& lock_file, double timeout_seconds,
                   const std::function<void(const std::string&)>& on_wait, const std::string& file) {
  std::error_code ec;
  check_inside_cache(cache, lock_file.parent_path());
  fs::create_directories(lock_file.parent_path(), ec);
  if (ec) throw Error(lock_file.parent_path().string() + ": cannot create (" + ec.message() + ")");
  check_inside_cache(cache, lock_file);
  // As filelock opens it (O_RDWR | O_CREAT | O_TRUNC, 0644); O_NOFOLLOW so that a symlink planted there
  // cannot make us create or truncate a file elsewhere. The file is never removed: another process may be
  // waiting on this very inode.
  fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(lock_file.string() + ": cannot open the lock file (" + std::strerror(errno) + ")");
  const auto start = std::chrono::steady_clock::now();
  bool told = false;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) {
      ::close(fd_);
      throw Error(lock_file.string() + ": cannot lock (" + std::strerror(err) + ")");
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited >= timeout_seconds) {
      ::close(fd_);
      throw Error(file + ": another process is still downloading it after " + std::to_string(static_cast<long>(waited)) +
                  " s (" + lock_file.string() + " is locked); try again later or raise --lock-timeout");
    }
    if (!told && on_wait) on_wait(file + ": waiting for another process that is downloading it (" + lock_file.string() + " is locked)");
    told = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

BlobLock::~BlobLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace xsearch::hub
