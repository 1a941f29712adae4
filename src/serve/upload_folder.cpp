#include "serve/upload_folder.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>

#include "io/atomic_file.hpp"
#include "xsearch/error.hpp"

namespace xsearch::serve {

namespace fs = std::filesystem;

namespace {

// Makes `dir` (0700) or accepts it as it is when it is already a private folder of ours.
void private_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(dir.string() + ": cannot create the folder for dropped examples: " + std::strerror(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) throw Error(dir.string() + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) throw Error(dir.string() + ": not a folder (a symbolic link or a file is refused)");
  if (st.st_uid != ::getuid()) throw Error(dir.string() + ": belongs to another user");
  if ((st.st_mode & 077) != 0) throw Error(dir.string() + ": other users may use it (mode " + std::to_string(st.st_mode & 0777) + ")");
}

// "<host>.<pid>" of this host -> the pid, else 0.
pid_t pid_of(const std::string& name) {
  const std::string prefix = temp_host_name() + ".";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::string digits = name.substr(prefix.size());
  if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos || digits[0] == '0') return 0;
  return static_cast<pid_t>(std::stol(digits));
}

}  // namespace

void remove_upload_dir(const fs::path& dir) noexcept {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code rm;
    if (fs::is_regular_file(fs::symlink_status(it->path(), rm))) fs::remove(it->path(), rm);
  }
  fs::remove(dir, ec);  // only when that left it empty
}

UploadFolder::UploadFolder(fs::path temp_root) {
  if (temp_root.empty()) temp_root = fs::temp_directory_path();
  const fs::path root = temp_root / ("xsearch-serve-" + std::to_string(::getuid()));
  private_dir(root);
  // A killed serve's folder (this host, a pid that no longer runs; ours too when the pid came round
  // again): its uploads would stay for good otherwise. Other hosts' and running processes' stay.
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = pid_of(it->path().filename().string());
    if (pid > 0 && (pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH))) remove_upload_dir(it->path());
  }
  dir_ = root / (temp_host_name() + "." + std::to_string(::getpid()));
  private_dir(dir_);
}

UploadFolder::~UploadFolder() { remove_upload_dir(dir_); }

fs::path UploadFolder::fresh() { return dir_ / std::to_string(++next_); }

}  // namespace xsearch::serve
