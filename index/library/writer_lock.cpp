#include "writer_lock.hpp"

#include "xsearch/library.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "xsearch/error.hpp"

namespace xsearch {

namespace {

std::string holder_of(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos ? "pid unknown" : "pid " + pid;
}

}  // namespace

std::filesystem::path WriterLock::lock_path(const std::filesystem::path& db) { return db.string() + ".lock"; }

WriterLock::WriterLock(const std::filesystem::path& db, bool wait, const std::function<void(const std::string&)>& on_wait) {
  const auto path = lock_path(db);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path.string() + ": cannot open the library's lock file (" + std::strerror(errno) + ")");
  int r;
  while ((r = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (r != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      ::close(fd_);
      throw Error(path.string() + ": cannot lock the library (" + std::strerror(err) + ")");
    }
    const std::string holder = holder_of(fd_);
    if (!wait) {
      ::close(fd_);
      throw LibraryBusy(db.string() + ": another xsearch (" + holder + ") is writing this library; try again when it has finished");
    }
    if (on_wait) on_wait("waiting for another xsearch writing " + db.string() + " (" + holder + ")...");
    // A signal that interrupts the wait (a handler without SA_RESTART) ends it: the user wants to stop.
    if (::flock(fd_, LOCK_EX) != 0) {
      const int e = errno;
      ::close(fd_);
      if (e == EINTR) throw Error(db.string() + ": interrupted while waiting for the other xsearch");
      throw Error(path.string() + ": cannot lock the library (" + std::strerror(e) + ")");
    }
  }
  // Who holds it, for the next one that waits (best effort: the lock works without it).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace xsearch
