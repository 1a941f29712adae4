#include "list_file.hpp"

#include <cblas.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "index_file_writer.hpp"
#include "io/half_float.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace {

// Heap order: the worst (lowest score; of equal scores the larger id) on top.
bool worse_first(const std::pair<int64_t, float>& a, const std::pair<int64_t, float>& b) {
  return a.second != b.second ? a.second > b.second : a.first < b.first;
}

float dot_half_portable(const float* query, const uint16_t* code, int64_t dim) {
  float sum = 0;
  for (int64_t d = 0; d < dim; ++d) sum += query[d] * half_to_float(code[d]);
  return sum;
}

#if defined(__x86_64__)
// Eight values at a time: F16C widens the codes, FMA accumulates in two registers.
__attribute__((target("avx2,fma,f16c"))) float dot_half_f16c(const float* query, const uint16_t* code, int64_t dim) {
  __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 16 <= dim; d += 16) {
    const __m256 c0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + d)));
    const __m256 c1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + d + 8)));
    a = _mm256_fmadd_ps(_mm256_loadu_ps(query + d), c0, a);
    b = _mm256_fmadd_ps(_mm256_loadu_ps(query + d + 8), c1, b);
  }
  a = _mm256_add_ps(a, b);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  float sum = _mm_cvtss_f32(s);
  for (; d < dim; ++d) sum += query[d] * half_to_float(code[d]);
  return sum;
}

bool cpu_has_f16c() {
  // F16C and FMA from CPUID leaf 1 (clang's __builtin_cpu_supports knows no "f16c"); AVX2 with the OS's
  // support for the registers from the builtin.
  static const bool has = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    return (c & bit_F16C) != 0 && (c & bit_FMA) != 0 && (c & bit_OSXSAVE) != 0 && __builtin_cpu_supports("avx2");
  }();
  return has;
}
#endif

}  // namespace

float dot_half(const float* query, const uint16_t* code, int64_t dim) {
#if defined(__x86_64__)
  if (cpu_has_f16c()) return dot_half_f16c(query, code, dim);
#endif
  return dot_half_portable(query, code, dim);
}

void Shortlist::offer(int64_t id, float score) {
  if (capacity_ <= 0) return;
  if (std::isnan(score)) score = -INFINITY;  // a damaged code must not break the heap's order
  const std::pair<int64_t, float> entry{id, score};
  if (static_cast<int64_t>(heap_.size()) < capacity_) {
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), worse_first);
    return;
  }
  if (!worse_first(entry, heap_.front())) return;  // not better than the worst kept
  std::pop_heap(heap_.begin(), heap_.end(), worse_first);
  heap_.back() = entry;
  std::push_heap(heap_.begin(), heap_.end(), worse_first);
}

std::vector<std::pair<int64_t, float>> Shortlist::take() {
  std::sort_heap(heap_.begin(), heap_.end(), worse_first);
  return std::move(heap_);
}

std::unique_ptr<ListFile> ListFile::map(const std::filesystem::path& path, int fd, const IndexHeader& h, uint64_t file_size) {
  std::unique_ptr<ListFile> f(new ListFile);
  f->header_ = h;
  // The pages are read as the lists are visited, not all now (that is the point of this kind).
  f->map_ = MappedFile::map(path, fd, file_size, false);
  if (h.kind == IndexKind::Lists) f->centroids_ = reinterpret_cast<const float*>(f->map_->data() + h.centroids_offset);
  // The offsets are copied (8 bytes per list): checked once here, they must stay as checked. Read from the
  // map at every scan, a file rewritten in place with more clips would point the scan past the map's end.
  const auto* mapped_offsets = reinterpret_cast<const uint64_t*>(f->map_->data() + h.list_offsets_offset);
  f->offsets_.assign(mapped_offsets, mapped_offsets + h.nlist + 1);
  f->ids_ = reinterpret_cast<const int64_t*>(f->map_->data() + h.ids_offset);
  f->codes_ = reinterpret_cast<const uint16_t*>(f->map_->data() + h.vectors_offset);
  // Every list must lie inside the arrays: offsets from 0, never decreasing, ending at count.
  if (f->offsets_[0] != 0 || f->offsets_[h.nlist] != static_cast<uint64_t>(h.count))
    throw Error(path.string() + ": damaged list offsets in the index file");
  for (int64_t l = 0; l < h.nlist; ++l)
    if (f->offsets_[l + 1] < f->offsets_[l]) throw Error(path.string() + ": damaged list offsets in the index file");
  if (!f->map_->intact()) throw Error(path.string() + ": the index file changed while it was read");
  return f;
}

ListFile::~ListFile() = default;

std::vector<int64_t> ListFile::best_lists(const float* query, int64_t probes) const {
  if (!centroids_) return {};
  const int64_t n = header_.nlist;
  std::vector<float> scores(static_cast<std::size_t>(n));
  cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n), static_cast<int>(header_.dim), 1.0f, centroids_,
              static_cast<int>(header_.dim), query, 1, 0.0f, scores.data(), 1);
  for (float& s : scores)
    if (std::isnan(s)) s = -INFINITY;
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  probes = std::clamp<int64_t>(probes, 0, n);
  std::partial_sort(order.begin(), order.begin() + probes, order.end(),
                    [&](int64_t a, int64_t b) { return scores[a] != scores[b] ? scores[a] > scores[b] : a < b; });
  order.resize(static_cast<std::size_t>(probes));
  return order;
}

void ListFile::scan(const float* query, const std::vector<int64_t>& lists, const std::unordered_set<int64_t>& skip, Shortlist& out) const {
  const int64_t dim = header_.dim;
  for (const int64_t list : lists) {
    if (list < 0 || list >= header_.nlist) continue;
    const int64_t n = list_size(list);
    const int64_t* ids = list_ids(list);
    const uint16_t* codes = list_codes(list);
    for (int64_t i = 0; i < n; ++i) {
      if (!skip.empty() && skip.count(ids[i])) continue;
      out.offer(ids[i], dot_half(query, codes + i * dim, dim));
    }
  }
}

ListFileWriter::ListFileWriter(const std::filesystem::path& path, IndexHeader h, const std::vector<float>& centroids,
                               const std::vector<uint64_t>& list_offsets, const std::vector<int64_t>& ids,
                               const std::function<bool()>& cancelled) {
  h.count = static_cast<int64_t>(ids.size());
  h.nlist = static_cast<int64_t>(list_offsets.size()) - 1;
  h.max_id = ids.empty() ? 0 : *std::max_element(ids.begin(), ids.end());
  uint64_t total = 0;
  const bool with_centroids = h.kind == IndexKind::Lists;
  if ((h.kind != IndexKind::Lists && h.kind != IndexKind::ListsAdd) || !lists_file_layout(h, total) ||
      (with_centroids && centroids.size() != static_cast<std::size_t>(h.nlist * h.dim)) || list_offsets.front() != 0 ||
      list_offsets.back() != ids.size())
    throw Error(path.string() + ": inconsistent lists for the index file");
  header_ = h;
  out_ = std::make_unique<IndexFileWriter>(path, cancelled);
  const std::string head = encode_index_header(h);
  out_->write(head.data(), head.size());
  out_->pad_to(h.centroids_offset);
  if (with_centroids) out_->write(centroids.data(), centroids.size() * sizeof(float));
  out_->pad_to(h.list_offsets_offset);
  out_->write(list_offsets.data(), list_offsets.size() * sizeof(uint64_t));
  out_->pad_to(h.ids_offset);
  out_->write(ids.data(), ids.size() * sizeof(int64_t));
  out_->pad_to(h.vectors_offset);
}

ListFileWriter::~ListFileWriter() = default;

void ListFileWriter::append_codes(const uint16_t* codes, int64_t count) {
  if (placed_ || count < 0 || appended_ + count > header_.count) throw Error("index file: codes beyond the lists");
  out_->write(codes, static_cast<std::size_t>(count * header_.dim) * sizeof(uint16_t));
  appended_ += count;
}

void ListFileWriter::write_codes_at(int64_t position, const uint16_t* codes, int64_t count) {
  if (appended_ > 0 || position < 0 || count < 0 || position + count > header_.count) throw Error("index file: codes beyond the lists");
  if (!placed_) {
    uint64_t total = 0;
    lists_file_layout(header_, total);
    out_->reserve(total);
    placed_ = true;
  }
  const uint64_t bytes_per = static_cast<uint64_t>(header_.dim) * sizeof(uint16_t);
  out_->write_at(header_.vectors_offset + static_cast<uint64_t>(position) * bytes_per, codes, static_cast<std::size_t>(count) * bytes_per);
}

void ListFileWriter::commit() {
  if (!placed_ && appended_ != header_.count) throw Error("index file: " + std::to_string(header_.count - appended_) + " codes missing");
  out_->commit();
}

}  // namespace xsearch
