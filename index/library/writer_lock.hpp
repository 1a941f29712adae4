// One writer per library: an flock on LIBRARY.lock beside the database, held for as long as a writable
// Library is open. The holder writes its pid into the file so that a waiting process can name it. The
// lock file is never removed (removing a lock file races with the next process taking it); the kernel
// drops the lock when the process ends, however it ends.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace xsearch {

class WriterLock {
 public:
  // Takes the lock on `db`'s lock file. When another process holds it: with `wait`, calls on_wait (may be
  // empty) with "waiting for another xsearch writing DB (pid N)..." and blocks until it is free; without
  // `wait`, throws xsearch::Error saying who holds it.
  WriterLock(const std::filesystem::path& db, bool wait, const std::function<void(const std::string&)>& on_wait);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  static std::filesystem::path lock_path(const std::filesystem::path& db);

 private:
  int fd_ = -1;
};

}  // namespace xsearch
