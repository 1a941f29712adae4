#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "xsearch/error.hpp"

namespace xsearch {

namespace fs = std::filesystem;

namespace {

// The longest file name most file systems take (NAME_MAX).
constexpr std::size_t kNameMax = 255;

fs::path folder_of(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

std::string random_hex() {
  // std::random_device reads the kernel's generator: unpredictable across processes, hosts and forks,
  // which a seeded engine copied by fork() would not be.
  std::random_device device;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", static_cast<unsigned>(device()), static_cast<unsigned>(device()));
  return text;
}

}  // namespace

const std::string& temp_host_name() {
  static const std::string name = [] {
    char raw[256] = {};
    if (::gethostname(raw, sizeof raw - 1) != 0) raw[0] = '\0';
    std::string s;
    for (const char* c = raw; *c && s.size() < 32; ++c)
      s += (std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '_') ? *c : '_';
    return s.empty() ? std::string("host") : s;
  }();
  return name;
}

fs::path atomic_temp_path(const fs::path& target) {
  const std::string suffix = "." + temp_host_name() + "." + std::to_string(::getpid()) + "." + random_hex() + ".tmp";
  std::string name = target.filename().string();
  // A long target name is cut (before a UTF-8 continuation byte) so that the temporary name stays valid.
  if (name.size() + suffix.size() > kNameMax) {
    std::size_t n = kNameMax - suffix.size();
    while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
    name.resize(n);
  }
  return target.parent_path() / (name + suffix);
}

AtomicFile::AtomicFile(const fs::path& target, std::string what) : target_(target), what_(std::move(what)) {
  // EEXIST only if 64 random bits repeat beside the same target; a few tries make that moot.
  for (int attempt = 0; attempt < 4; ++attempt) {
    temp_ = atomic_temp_path(target_);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ >= 0 || errno != EEXIST) break;
  }
  if (fd_ < 0) {
    done_ = true;  // nothing of ours to remove: the name may be someone else's
    fail("create", errno);
  }
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!done_) ::unlink(temp_.c_str());
  done_ = true;
}

void AtomicFile::fail(const std::string& step, int err) {
  discard();
  throw Error(target_.string() + ": cannot " + step + (what_.empty() ? "" : " " + what_) + " (" + std::strerror(err) + ")");
}

void AtomicFile::write(const void* data, std::size_t bytes) {
  if (fd_ < 0) fail("write", EBADF);
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", errno);
    if (n == 0) fail("write", EIO);
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) fail("write", EBADF);
  // On disk before the rename: a crash must leave the old file or the whole new one, never a hole.
  if (::fsync(fd_) != 0) fail("sync", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close", errno);
  if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("replace", errno);
  done_ = true;
  // The rename is durable only once the folder is synced. The target is already replaced here, so a
  // failure says so rather than pretending the old file is still there.
  const fs::path folder = folder_of(target_);
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int synced = dir < 0 ? -1 : ::fsync(dir);
  const int err = errno;
  if (dir >= 0) ::close(dir);
  if (synced != 0)
    throw Error(target_.string() + ": written, but cannot sync its folder " + folder.string() + " (" + std::strerror(err) + ")");
}

void atomic_write(const fs::path& target, std::string_view bytes) {
  AtomicFile file(target);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

void atomic_write(const fs::path& target, const std::function<void(AtomicFile&)>& fill) {
  AtomicFile file(target);
  fill(file);
  file.commit();
}

int remove_stale_temp_files(const fs::path& target) {
  const std::string prefix = target.filename().string() + "." + temp_host_name() + ".", suffix = ".tmp";
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(folder_of(target), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    // What is left is "<pid>.<16 hex digits>".
    const std::string rest = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    const std::size_t dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 || dot > 9 || rest.size() - dot - 1 != 16) continue;
    const std::string pid_text = rest.substr(0, dot), random = rest.substr(dot + 1);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text[0] == '0' ||
        random.find_first_not_of("0123456789abcdef") != std::string::npos)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // running (or not ours to judge)
    std::error_code rm;
    if (!fs::is_regular_file(fs::symlink_status(it->path(), rm))) continue;
    if (fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace xsearch
