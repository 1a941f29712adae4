#include "exact_file.hpp"

#include <cblas.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "index_file_writer.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

void ExactFile::write(const std::filesystem::path& path, IndexHeader h, const std::vector<int64_t>& ids,
                      const std::vector<float>& vectors, const std::function<bool()>& cancelled) {
  h.kind = IndexKind::Exact;
  h.count = static_cast<int64_t>(ids.size());
  h.max_id = ids.empty() ? 0 : *std::max_element(ids.begin(), ids.end());
  uint64_t ids_at = 0, vectors_at = 0, total = 0;
  if (!exact_file_layout(h.count, h.dim, ids_at, vectors_at, total) || vectors.size() != ids.size() * static_cast<std::size_t>(h.dim))
    throw Error(path.string() + ": " + std::to_string(ids.size()) + " ids for " + std::to_string(vectors.size()) + " values");
  IndexFileWriter out(path, cancelled);
  const std::string header = encode_index_header(h);
  out.write(header.data(), header.size());
  out.pad_to(ids_at);
  out.write(ids.data(), ids.size() * sizeof(int64_t));
  out.pad_to(vectors_at);
  out.write(vectors.data(), vectors.size() * sizeof(float));
  out.commit();
}

std::unique_ptr<ExactFile> ExactFile::map(const std::filesystem::path& path, int fd, const IndexHeader& h, uint64_t file_size) {
  std::unique_ptr<ExactFile> f(new ExactFile);
  f->n_ = h.count;
  f->dim_ = h.dim;
  if (h.count == 0) return f;  // nothing to map (mmap of an empty range fails)
  // Every page mapped now, in one go, instead of a fault per page during the search.
  f->map_ = MappedFile::map(path, fd, file_size, true);
  f->ids_ = reinterpret_cast<const int64_t*>(f->map_->data() + h.ids_offset);
  f->vectors_ = reinterpret_cast<const float*>(f->map_->data() + h.vectors_offset);
  return f;
}

ExactFile::~ExactFile() = default;

std::vector<std::pair<int64_t, float>> top_k(const std::vector<float>& scores, const int64_t* ids, int64_t k) {
  const auto n = static_cast<int64_t>(scores.size());
  k = std::min(k, n);
  if (k <= 0) return {};
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  // Best first; equal scores by id, so that results do not depend on the sort.
  auto better = [&](int64_t a, int64_t b) { return scores[a] != scores[b] ? scores[a] > scores[b] : ids[a] < ids[b]; };
  std::partial_sort(order.begin(), order.begin() + k, order.end(), better);
  std::vector<std::pair<int64_t, float>> out;
  for (int64_t i = 0; i < k; ++i) out.emplace_back(ids[order[i]], scores[order[i]]);
  return out;
}

std::vector<std::pair<int64_t, float>> ExactFile::search(const float* query, int64_t k) const {
  if (n_ == 0 || k <= 0) return {};
  std::vector<float> scores(static_cast<std::size_t>(n_));
  cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n_), static_cast<int>(dim_), 1.0f, vectors_,
              static_cast<int>(dim_), query, 1, 0.0f, scores.data(), 1);
  return top_k(scores, ids_, k);
}

}  // namespace xsearch
