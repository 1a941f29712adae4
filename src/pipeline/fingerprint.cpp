// Content fingerprints: enough bytes to tell files apart (and recognise a moved one) without reading
// whole videos. 64-bit FNV-1a over the size, the first, middle and last megabyte.
#include <fstream>
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

void add_chunks(Fnv64& h, const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot read");
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  h.add_u64(size);
  std::string buf(kChunk, '\0');
  for (uint64_t offset : {uint64_t{0}, size > kChunk ? size / 2 : 0, size > kChunk ? size - kChunk : 0}) {
    in.clear();
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(buf.data(), static_cast<std::streamsize>(kChunk));
    h.add(buf.data(), static_cast<std::size_t>(in.gcount()));
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
