// Content fingerprints: enough bytes to tell files apart (and recognise a moved one) without reading
// whole videos. 64-bit FNV-1a over the size, the first, middle and last megabyte. Every read is checked:
// a read error, or a file that ends before its size (it shrank meanwhile), is an error naming the file,
// never a fingerprint of the bytes that happened to arrive.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "xsearch/checkpoint.hpp"
#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"

namespace xsearch {

namespace {

constexpr std::size_t kChunk = 1 << 20;

struct Fnv64 {
  uint64_t h = 1469598103934665603ull;
  void add(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= static_cast<uint8_t>(p[i]);
      h *= 1099511628211ull;
    }
  }
  void add_u64(uint64_t v) { add(reinterpret_cast<const char*>(&v), sizeof v); }
};

// Closes the descriptor on every way out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly `n` bytes at `offset` (pread may return less than asked: it is called again).
void read_exactly(int fd, char* buf, std::size_t n, uint64_t offset, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(path.string() + ": read error at byte " + std::to_string(offset + done) + " (" + std::strerror(errno) + ")");
    if (r == 0) throw Error(path.string() + ": ended at byte " + std::to_string(offset + done) + ", before its size (is it being written?)");
    done += static_cast<std::size_t>(r);
  }
}

void add_chunks(Fnv64& h, const std::filesystem::path& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw Error(path.string() + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw Error(path.string() + ": cannot stat (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw Error(path.string() + ": not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  h.add_u64(size);
  std::string buf(kChunk, '\0');
  // The same bytes as before (first, middle and last megabyte, each cut at the end of the file), so that
  // fingerprints stored by earlier versions still match.
  for (uint64_t offset : {uint64_t{0}, size > kChunk ? size / 2 : 0, size > kChunk ? size - kChunk : 0}) {
    const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(kChunk, size - std::min(size, offset)));
    read_exactly(f.fd, buf.data(), n, offset, path);
    h.add(buf.data(), n);
  }
}

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << std::hex << std::setw(16) << std::setfill('0') << v;
  return s.str();
}

}  // namespace

std::string file_fingerprint(const std::filesystem::path& path) {
  Fnv64 h;
  add_chunks(h, path);
  return hex(h.h);
}

ModelIdentity model_identity(const std::filesystem::path& model_dir, int64_t dim, const std::string& name) {
  Fnv64 h;
  add_chunks(h, model_dir / "config.json");
  add_chunks(h, model_weights_file(model_dir));
  ModelIdentity id;
  std::error_code ec;
  const auto abs = std::filesystem::weakly_canonical(std::filesystem::absolute(model_dir), ec);
  id.name = !name.empty() ? name : ec ? model_dir.string() : abs.string();
  id.fingerprint = hex(h.h);
  id.dim = dim;
  return id;
}

}  // namespace xsearch
