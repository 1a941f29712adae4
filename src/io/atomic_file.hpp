// Replacing a file so that readers, and a crash, see the old file or the whole new one, never part of it:
// the one way xsearch writes a file over another (index files, safetensors, hub cache, media cache,
// exports). The bytes go to a temporary file of our own beside the target (same folder, hence same file
// system, so the rename is atomic), which is fsync'd, renamed over the target, and the folder fsync'd so
// that the rename survives a power cut. On any failure the temporary file is removed and the target is
// untouched; errors name the target and the cause.
//
// Temporary names are "<name>.<host>.<pid>.<random>.tmp", created with O_EXCL: two machines writing into
// a shared folder (NFS), two threads, or a pid reused after a crash never share one, and a name that
// exists (even as a symbolic link) is never opened. They end in ".tmp" so that ingest skips them and
// tests can find leftovers.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace xsearch {

// This machine's host name as temporary names carry it: letters, digits, '-' and '_' only, at most 32.
const std::string& temp_host_name();

// A fresh temporary name beside `target` (not created).
std::filesystem::path atomic_temp_path(const std::filesystem::path& target);

class AtomicFile {
 public:
  // Creates the temporary file (O_CREAT | O_EXCL, mode 0644 less the umask). `what` names the file in
  // errors ("the index file": "lib.index: cannot write the index file (No space left on device)").
  explicit AtomicFile(const std::filesystem::path& target, std::string what = "");
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::filesystem::path& target() const { return target_; }
  // Someone else may write this path (an encoder given a file name); commit() still syncs and renames it.
  const std::filesystem::path& temp_path() const { return temp_; }
  int fd() const { return fd_; }

  // Appends all of `bytes` (short writes continued, EINTR retried); a failure removes the temporary file
  // and throws xsearch::Error.
  void write(const void* data, std::size_t bytes);
  // fsync, close, rename over the target, fsync the folder.
  void commit();
  // Closes and removes the temporary file now (the target stays as it was).
  void discard() noexcept;
  // discard(), then throws Error("<target>: cannot <step> <what> (<strerror(err)>)").
  [[noreturn]] void fail(const std::string& step, int err);

 private:
  std::filesystem::path target_, temp_;
  std::string what_;
  int fd_ = -1;
  bool done_ = false;  // committed or discarded: nothing left to remove
};

// Replaces `target` with exactly `bytes`.
void atomic_write(const std::filesystem::path& target, std::string_view bytes);
// Replaces `target` with what `fill` writes to the file; if `fill` throws, the target is untouched and
// the exception goes on.
void atomic_write(const std::filesystem::path& target, const std::function<void(AtomicFile&)>& fill);

// Removes the temporary files of `target` that this host made with a pid that no longer runs (a killed
// writer); returns how many. Names of other hosts, running processes, or other shapes are left alone.
int remove_stale_temp_files(const std::filesystem::path& target);

}  // namespace xsearch
