#include "index_file_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "xsearch/error.hpp"

namespace xsearch {

OpenedIndexFile::~OpenedIndexFile() {
  if (fd_ >= 0) ::close(fd_);
}

OpenedIndexFile::OpenedIndexFile(OpenedIndexFile&& other) noexcept
    : fd_(other.fd_), size_(other.size_), header_(std::move(other.header_)) {
  other.fd_ = -1;
}

int OpenedIndexFile::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

std::optional<OpenedIndexFile> open_index_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(path.string() + ": cannot open the index file (" + std::strerror(errno) + ")");
  }
  // Owned from here: every throw below closes it.
  OpenedIndexFile file(fd, 0, IndexHeader{});
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(path.string() + ": cannot read the index file (" + std::strerror(errno) + ")");
  uint8_t bytes[kListsHeaderBytes] = {};
  const ssize_t got = ::pread(fd, bytes, sizeof bytes, 0);
  IndexHeader header;
  try {
    header = parse_index_header(bytes, got > 0 ? static_cast<std::size_t>(got) : 0, static_cast<uint64_t>(st.st_size));
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
  return OpenedIndexFile(file.release(), static_cast<uint64_t>(st.st_size), header);
}

}  // namespace xsearch
