#include "index_header.hpp"

#include <cstring>
#include <limits>

#include "xsearch/error.hpp"

namespace xsearch {

namespace {

// Layout (native little-endian, as the vectors themselves): magic "XSLX", format, kind, uuid (36 bytes
// plus 4 of padding), generation, count, dim, max_id, then zeros up to kIndexHeaderBytes.
constexpr char kMagic[4] = {'X', 'S', 'L', 'X'};
constexpr uint32_t kFormat = 2;
constexpr std::size_t kUuidBytes = 36;
constexpr std::size_t kAlign = 64;
constexpr std::size_t kUuidAt = 12, kGenerationAt = 52, kCountAt = 60, kDimAt = 68, kMaxIdAt = 76;
// The lists kinds' fields, after the common header.
constexpr std::size_t kNlistAt = 96, kBuildIdAt = 104, kBaseBuildIdAt = 112, kBaseMaxIdAt = 120, kTrainedAt = 128;
// 2^24 lists is far above any library's (about 4 sqrt(clips), at most 16384 in vector_index.cpp).
constexpr int64_t kMaxLists = int64_t{1} << 24;
// Limits that no real library reaches and that keep every product below 2^63: a dimension of 2^16 and
// 2^40 vectors give at most 2^58 values of 4 bytes.
constexpr int64_t kMaxDim = int64_t{1} << 16;
constexpr int64_t kMaxCount = int64_t{1} << 40;

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void store(std::string& s, std::size_t at, T v) {
  std::memcpy(&s[at], &v, sizeof v);
}

bool add(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }
bool mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
bool aligned(uint64_t v, uint64_t& out) {
  if (!add(v, kAlign - 1, out)) return false;
  out = out / kAlign * kAlign;
  return true;
}

}  // namespace

bool lists_file_layout(IndexHeader& h, uint64_t& total) {
  if (h.count < 0 || h.dim <= 0 || h.nlist <= 0 || h.nlist > kMaxLists) return false;
  const bool with_centroids = h.kind == IndexKind::Lists;
  uint64_t centroid_bytes = 0, offsets_bytes, ids_bytes, values, code_bytes, at;
  if (with_centroids && (!mul(static_cast<uint64_t>(h.nlist), static_cast<uint64_t>(h.dim), values) || !mul(values, 4, centroid_bytes)))
    return false;
  if (!aligned(kListsHeaderBytes, h.centroids_offset) || !add(h.centroids_offset, centroid_bytes, at) ||
      !aligned(at, h.list_offsets_offset) || !mul(static_cast<uint64_t>(h.nlist) + 1, 8, offsets_bytes) ||
      !add(h.list_offsets_offset, offsets_bytes, at) || !aligned(at, h.ids_offset) ||
      !mul(static_cast<uint64_t>(h.count), 8, ids_bytes) || !add(h.ids_offset, ids_bytes, at) || !aligned(at, h.vectors_offset) ||
      !mul(static_cast<uint64_t>(h.count), static_cast<uint64_t>(h.dim), values) || !mul(values, 2, code_bytes) ||
      !add(h.vectors_offset, code_bytes, total))
    return false;
  return true;
}

bool exact_file_layout(int64_t count, int64_t dim, uint64_t& ids_offset, uint64_t& vectors_offset, uint64_t& total) {
  if (count < 0 || dim < 0) return false;
  uint64_t ids_bytes, ids_padded, values, vector_bytes;
  if (!aligned(kIndexHeaderBytes, ids_offset) || !mul(static_cast<uint64_t>(count), 8, ids_bytes) ||
      !aligned(ids_bytes, ids_padded) || !add(ids_offset, ids_padded, vectors_offset) ||
      !mul(static_cast<uint64_t>(count), static_cast<uint64_t>(dim), values) || !mul(values, 4, vector_bytes) ||
      !add(vectors_offset, vector_bytes, total))
    return false;
  return true;
}

std::string encode_index_header(const IndexHeader& h) {
  std::string s(kIndexHeaderBytes, '\0');
  std::memcpy(&s[0], kMagic, 4);
  store<uint32_t>(s, 4, kFormat);
  store<uint32_t>(s, 8, static_cast<uint32_t>(h.kind));
  std::memcpy(&s[kUuidAt], h.library_uuid.data(), std::min(h.library_uuid.size(), kUuidBytes));
  store<int64_t>(s, kGenerationAt, h.generation);
  store<int64_t>(s, kCountAt, h.count);
  store<int64_t>(s, kDimAt, h.dim);
  store<int64_t>(s, kMaxIdAt, h.max_id);
  if (h.kind == IndexKind::Lists || h.kind == IndexKind::ListsAdd) {
    s.resize(kListsHeaderBytes, '\0');
    store<int64_t>(s, kNlistAt, h.nlist);
    store<uint64_t>(s, kBuildIdAt, h.build_id);
    store<uint64_t>(s, kBaseBuildIdAt, h.base_build_id);
    store<int64_t>(s, kBaseMaxIdAt, h.base_max_id);
    store<int64_t>(s, kTrainedAt, h.trained_count);
  }
  return s;
}

IndexHeader parse_index_header(const uint8_t* bytes, std::size_t size, uint64_t file_size) {
  if (size < kIndexHeaderBytes || file_size < kIndexHeaderBytes) throw Error("index file too short for its header");
  if (std::memcmp(bytes, kMagic, 4) != 0) throw Error("not an xsearch index file of this version (bad magic)");
  if (const auto format = load<uint32_t>(bytes + 4); format != kFormat)
    throw Error("index file format " + std::to_string(format) + ", expected " + std::to_string(kFormat));
  IndexHeader h;
  const auto kind = load<uint32_t>(bytes + 8);
  if (kind < static_cast<uint32_t>(IndexKind::Exact) || kind > static_cast<uint32_t>(IndexKind::ListsAdd))
    throw Error("unknown index kind " + std::to_string(kind));
  h.kind = static_cast<IndexKind>(kind);
  h.library_uuid.assign(reinterpret_cast<const char*>(bytes + kUuidAt), kUuidBytes);
  for (char c : h.library_uuid)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) throw Error("damaged library id in the index header");
  h.generation = load<int64_t>(bytes + kGenerationAt);
  h.count = load<int64_t>(bytes + kCountAt);
  h.dim = load<int64_t>(bytes + kDimAt);
  h.max_id = load<int64_t>(bytes + kMaxIdAt);
  if (h.generation < 0) throw Error("negative generation in the index header");
  if (h.count < 0 || h.count > kMaxCount) throw Error("impossible vector count " + std::to_string(h.count) + " in the index header");
  if (h.dim <= 0 || h.dim > kMaxDim) throw Error("impossible dimension " + std::to_string(h.dim) + " in the index header");
  if (h.max_id < 0 || (h.count > 0 && h.max_id < h.count) || (h.count == 0 && h.max_id != 0))
    throw Error("impossible largest id " + std::to_string(h.max_id) + " for " + std::to_string(h.count) + " vectors");
  if (h.kind == IndexKind::Exact) {
    uint64_t total = 0;
    if (!exact_file_layout(h.count, h.dim, h.ids_offset, h.vectors_offset, total) || total != file_size)
      throw Error("index file is " + std::to_string(file_size) + " bytes; its header describes " + std::to_string(h.count) +
                  " x " + std::to_string(h.dim) + " vectors (truncated or damaged)");
  } else if (h.kind == IndexKind::Lists || h.kind == IndexKind::ListsAdd) {
    if (size < kListsHeaderBytes || file_size < kListsHeaderBytes) throw Error("index file too short for its lists header");
    h.nlist = load<int64_t>(bytes + kNlistAt);
    h.build_id = load<uint64_t>(bytes + kBuildIdAt);
    h.base_build_id = load<uint64_t>(bytes + kBaseBuildIdAt);
    h.base_max_id = load<int64_t>(bytes + kBaseMaxIdAt);
    h.trained_count = load<int64_t>(bytes + kTrainedAt);
    if (h.trained_count < 0) throw Error("negative trained count in the index header");
    if (h.kind == IndexKind::ListsAdd && (h.base_max_id < 0 || h.base_max_id > h.max_id))
      throw Error("impossible base id " + std::to_string(h.base_max_id) + " in the index header");
    uint64_t total = 0;
    if (!lists_file_layout(h, total))
      throw Error("impossible list count " + std::to_string(h.nlist) + " for " + std::to_string(h.count) + " x " + std::to_string(h.dim) + " vectors");
    if (total != file_size)
      throw Error("index file is " + std::to_string(file_size) + " bytes; its header describes " + std::to_string(h.count) +
                  " x " + std::to_string(h.dim) + " codes in " + std::to_string(h.nlist) + " lists (truncated or damaged)");
  } else {
    // IVF-Flat stores every vector and its id: at least count x (dim x 4 + 8) bytes after the header.
    uint64_t per_vector, payload, need;
    if (!mul(static_cast<uint64_t>(h.dim), 4, per_vector) || !add(per_vector, 8, per_vector) ||
        !mul(static_cast<uint64_t>(h.count), per_vector, payload) || !add(payload, kIndexHeaderBytes, need) || need > file_size)
      throw Error("index file is " + std::to_string(file_size) + " bytes, too short for the " + std::to_string(h.count) +
                  " vectors its header describes (truncated or damaged)");
  }
  return h;
}

}  // namespace xsearch
