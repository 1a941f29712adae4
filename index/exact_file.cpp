#include "exact_file.hpp"

#include <cblas.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace xsearch {

namespace {

constexpr char kMagic[4] = {'X', 'S', 'E', 'X'};
constexpr uint32_t kFormat = 1;
constexpr std::size_t kAlign = 64;

struct Header {
  char magic[4];
  uint32_t format;
  int64_t generation, n, dim;
};

std::size_t aligned(std::size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

}  // namespace

void ExactFile::write(const std::filesystem::path& path, int64_t generation, int64_t dim, const std::vector<int64_t>& ids,
                      const std::vector<float>& vectors) {
  const std::filesystem::path tmp = path.string() + "." + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;  // a read-only folder: the caller keeps the index in memory instead
    Header h{};
    std::memcpy(h.magic, kMagic, 4);
    h.format = kFormat;
    h.generation = generation;
    h.n = static_cast<int64_t>(ids.size());
    h.dim = dim;
    const std::string pad(kAlign, '\0');
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(pad.data(), static_cast<std::streamsize>(aligned(sizeof h) - sizeof h));
    out.write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * sizeof(int64_t)));
    out.write(pad.data(), static_cast<std::streamsize>(aligned(ids.size() * sizeof(int64_t)) - ids.size() * sizeof(int64_t)));
    out.write(reinterpret_cast<const char*>(vectors.data()), static_cast<std::streamsize>(vectors.size() * sizeof(float)));
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

std::unique_ptr<ExactFile> ExactFile::open(const std::filesystem::path& path, int64_t generation, int64_t dim) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  Header h{};
  if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < sizeof h || ::pread(fd, &h, sizeof h, 0) != sizeof h ||
      std::memcmp(h.magic, kMagic, 4) != 0 || h.format != kFormat || h.generation != generation || h.dim != dim || h.n < 0) {
    ::close(fd);
    return nullptr;
  }
  const std::size_t ids_at = aligned(sizeof h), vectors_at = ids_at + aligned(static_cast<std::size_t>(h.n) * sizeof(int64_t));
  const std::size_t need = vectors_at + static_cast<std::size_t>(h.n * h.dim) * sizeof(float);
  if (static_cast<std::size_t>(st.st_size) != need) {
    ::close(fd);
    return nullptr;  // truncated or damaged: rebuilt by the caller
  }
  // MAP_POPULATE maps every page now, in one go, instead of a fault per page during the search.
  void* m = ::mmap(nullptr, need, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return nullptr;
  std::unique_ptr<ExactFile> f(new ExactFile);
  f->map_ = static_cast<const uint8_t*>(m);
  f->map_size_ = need;
  f->n_ = h.n;
  f->dim_ = h.dim;
  f->ids_ = reinterpret_cast<const int64_t*>(f->map_ + ids_at);
  f->vectors_ = reinterpret_cast<const float*>(f->map_ + vectors_at);
  return f;
}

ExactFile::~ExactFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

std::vector<std::pair<int64_t, float>> ExactFile::search(const float* query, int64_t k) const {
  k = std::min(k, n_);
  if (k <= 0) return {};
  std::vector<float> scores(static_cast<std::size_t>(n_));
  cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n_), static_cast<int>(dim_), 1.0f, vectors_,
              static_cast<int>(dim_), query, 1, 0.0f, scores.data(), 1);
  std::vector<int64_t> order(static_cast<std::size_t>(n_));
  for (int64_t i = 0; i < n_; ++i) order[static_cast<std::size_t>(i)] = i;
  // Best first; equal scores by id, so that results do not depend on the sort.
  auto better = [&](int64_t a, int64_t b) { return scores[a] != scores[b] ? scores[a] > scores[b] : ids_[a] < ids_[b]; };
  std::partial_sort(order.begin(), order.begin() + k, order.end(), better);
  std::vector<std::pair<int64_t, float>> out;
  for (int64_t i = 0; i < k; ++i) out.emplace_back(ids_[order[i]], scores[order[i]]);
  return out;
}

}  // namespace xsearch
