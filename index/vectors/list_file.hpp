// The approximate index as files that need no loading: IVF lists of float16 codes, memory-mapped.
//
// A Lists file holds the centroids (nlist x dim float32) and every clip's id and float16 code grouped by
// its nearest centroid; a ListsAdd file holds the clips added since, in the same lists, so that an ingest
// writes only what it added (vector_index.cpp merges the two when the additions grow). A query scores the
// centroids, scans the best lists' codes in both files, and keeps a shortlist that the caller re-scores
// exactly from the stored float32 embeddings: float16 halves the bytes read and the exact re-score gives
// back the exact order and scores. Nothing but the touched pages is read, so a fresh process at 1M clips
// answers without reading the whole file (FAISS's IVF-Flat reader loads all of it: 2 GB there).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "index_header.hpp"
#include "mapped_file.hpp"

namespace xsearch {

// The best `capacity` (id, score) pairs seen so far; equal scores keep the smaller id.
class Shortlist {
 public:
  explicit Shortlist(int64_t capacity) : capacity_(capacity) {}
  void offer(int64_t id, float score);
  // Best first.
  std::vector<std::pair<int64_t, float>> take();
  bool full() const { return static_cast<int64_t>(heap_.size()) >= capacity_; }
  float worst() const { return heap_.front().second; }

 private:
  int64_t capacity_;
  std::vector<std::pair<int64_t, float>> heap_;  // a min-heap on (score, -id): the worst on top
};

class ListFile {
 public:
  // Maps a lists file whose header has been parsed (`header`, `fd` open on it) and checks its list
  // offsets (non-decreasing, from 0 to count): a damaged file is an xsearch::Error naming it.
  static std::unique_ptr<ListFile> map(const std::filesystem::path& path, int fd, const IndexHeader& header, uint64_t file_size);
  ~ListFile();
  ListFile(const ListFile&) = delete;
  ListFile& operator=(const ListFile&) = delete;

  const IndexHeader& header() const { return header_; }
  // False when the file changed or was cut short since it was mapped (mapped_file.hpp).
  bool intact() const { return map_->intact(); }
  int64_t nlist() const { return header_.nlist; }
  int64_t list_size(int64_t list) const { return static_cast<int64_t>(offsets_[list + 1] - offsets_[list]); }
  const int64_t* list_ids(int64_t list) const { return ids_ + offsets_[list]; }
  const uint16_t* list_codes(int64_t list) const { return codes_ + offsets_[list] * static_cast<uint64_t>(header_.dim); }
  // Lists files only: centroid `list` (dim float32).
  const float* centroid(int64_t list) const { return centroids_ + list * header_.dim; }

  // The `probes` lists whose centroids score best against `query` (Lists files only), best first.
  std::vector<int64_t> best_lists(const float* query, int64_t probes) const;
  // Offers every clip of `lists` not in `skip` to `out`, scored against `query` through its float16 code.
  void scan(const float* query, const std::vector<int64_t>& lists, const std::unordered_set<int64_t>& skip, Shortlist& out) const;

 private:
  ListFile() = default;
  IndexHeader header_;
  std::unique_ptr<MappedFile> map_;
  const float* centroids_ = nullptr;
  std::vector<uint64_t> offsets_;  // nlist + 1, copied from the file once they are checked
  const int64_t* ids_ = nullptr;
  const uint16_t* codes_ = nullptr;
};

// Dot product of a float32 vector with a float16 code of `dim` values (F16C and FMA where the CPU has
// them, checked at run time; a portable loop otherwise: both give the same value to float rounding).
float dot_half(const float* query, const uint16_t* code, int64_t dim);

class IndexFileWriter;

// Writes a lists file (header.kind Lists or ListsAdd) through a checked temporary file and a rename
// (IndexFileWriter): the constructor writes the header, the centroids (Lists only: nlist x dim), the list
// offsets (nlist + 1, from 0 to count) and the ids in list order; the codes follow, either appended in
// list order or placed by position (a build that assigns clips in id order), then commit().
class ListFileWriter {
 public:
  ListFileWriter(const std::filesystem::path& path, IndexHeader header, const std::vector<float>& centroids,
                 const std::vector<uint64_t>& list_offsets, const std::vector<int64_t>& ids, const std::function<bool()>& cancelled);
  ~ListFileWriter();
  void append_codes(const uint16_t* codes, int64_t count);
  void write_codes_at(int64_t position, const uint16_t* codes, int64_t count);
  // Every code must have been written (appended up to count, or placed).
  void commit();

 private:
  std::unique_ptr<IndexFileWriter> out_;
  IndexHeader header_;
  int64_t appended_ = 0;
  bool placed_ = false;
};

}  // namespace xsearch
