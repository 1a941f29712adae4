#include "index_file_writer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "xsearch/error.hpp"
#include "xsearch/library.hpp"

namespace xsearch {

namespace {

// Bytes written between two questions to `cancelled`: 8 MB takes a few milliseconds.
constexpr std::size_t kChunk = std::size_t{8} << 20;

}  // namespace

IndexFileWriter::IndexFileWriter(const std::filesystem::path& path, const std::function<bool()>& cancelled)
    : path_(path), cancelled_(cancelled), file_(path, "the index file") {}

void IndexFileWriter::check_cancelled() {
  if (cancelled_ && cancelled_()) {
    file_.discard();
    throw IndexWriteCancelled(path_.string() + ": index write cancelled");
  }
}

std::size_t IndexFileWriter::write_some(const char* p, std::size_t bytes, int64_t at) {
  for (;;) {
    const int fd = file_.fd();
    if (fd < 0) file_.fail("write", EBADF);
    const ssize_t n = at < 0 ? ::write(fd, p, std::min(bytes, kChunk)) : ::pwrite(fd, p, std::min(bytes, kChunk), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) file_.fail("write", errno);
    if (n == 0) file_.fail("write", EIO);
    return static_cast<std::size_t>(n);
  }
}

void IndexFileWriter::write(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  std::size_t since_check = 0;
  while (bytes > 0) {
    if (since_check >= kChunk) {
      check_cancelled();
      since_check = 0;
    }
    const std::size_t n = write_some(p, bytes, -1);
    p += n;
    bytes -= n;
    written_ += n;
    since_check += n;
  }
}

void IndexFileWriter::pad_to(uint64_t offset) {
  static const char zeros[64] = {};
  while (written_ < offset) write(zeros, static_cast<std::size_t>(std::min<uint64_t>(sizeof zeros, offset - written_)));
}

void IndexFileWriter::write_at(uint64_t offset, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  check_cancelled();
  while (bytes > 0) {
    const std::size_t n = write_some(p, bytes, static_cast<int64_t>(offset));
    p += n;
    bytes -= n;
    offset += n;
  }
}

void IndexFileWriter::reserve(uint64_t size) {
  // posix_fallocate: a full disk fails here, before the work, rather than as a hole written later.
  if (const int err = ::posix_fallocate(file_.fd(), 0, static_cast<off_t>(size)); err != 0) file_.fail("extend", err);
}

void IndexFileWriter::commit() {
  check_cancelled();
  file_.commit();
}

int remove_stale_index_temp_files(const std::filesystem::path& index) {
  int removed = remove_stale_temp_files(index);
  // INDEX.PID.tmp: the names of versions before io/atomic_file.hpp (no host name: this host's, then).
  const std::filesystem::path folder = index.has_parent_path() ? index.parent_path() : std::filesystem::path(".");
  const std::string prefix = index.filename().string() + ".", suffix = ".tmp";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string pid_text = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text[0] == '0') continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // running (or not ours to judge)
    std::error_code rm;
    if (std::filesystem::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace xsearch
