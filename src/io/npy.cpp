// .npy files of float32 (xsearch/npy.hpp).
#include "xsearch/npy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "xsearch/error.hpp"

namespace xsearch {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .npy files say '<f4': the host's floats are written as they are");

std::string npy_header(const std::vector<int64_t>& shape, std::size_t bytes) {
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";  // a one-element tuple, as Python writes it
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t fixed = 10;  // magic (6), version (2), header length (2)
  if (bytes % 64 != 0 || fixed + dict.size() + 1 > bytes || bytes - fixed > 0xffff)
    throw Error("npy header: shape (" + dims + ") does not fit in " + std::to_string(bytes) + " bytes");
  dict.append(bytes - fixed - dict.size() - 1, ' ');
  dict += '\n';
  std::string h = "\x93NUMPY";
  h += static_cast<char>(1);
  h += static_cast<char>(0);
  const std::size_t len = dict.size();
  h += static_cast<char>(len & 0xff);
  h += static_cast<char>(len >> 8);
  return h + dict;
}

void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape, const float* values) {
  std::size_t count = 1;
  for (int64_t d : shape) count *= static_cast<std::size_t>(d);
  const std::string header = npy_header(shape);
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(tmp + ": " + std::strerror(errno));
  auto put = [&](const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  };
  const bool ok = put(header.data(), header.size()) && put(values, count * sizeof(float)) && ::fsync(fd) == 0;
  const int saved = errno;
  if (::close(fd) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw Error(tmp + ": " + std::strerror(ok ? errno : saved));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw Error(path.string() + ": " + std::strerror(e));
  }
}

}  // namespace xsearch
