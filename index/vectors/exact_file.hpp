// The exact index as a file that needs no loading: a header (index_header.hpp), the clip ids and their
// float32 vectors, memory-mapped and scored with one BLAS matrix-vector product. A fresh query process at
// 100k clips maps 200 MB in a few milliseconds where reading a FAISS index file took 200 ms.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "index_header.hpp"
#include "mapped_file.hpp"

namespace xsearch {

class ExactFile {
 public:
  // Writes `header` (its count, dim and max_id are taken from the data) with `ids` and `vectors` (n x dim,
  // row-major) through a checked temporary file and a rename; see IndexFileWriter.
  static void write(const std::filesystem::path& path, IndexHeader header, const std::vector<int64_t>& ids,
                    const std::vector<float>& vectors, const std::function<bool()>& cancelled);
  // Maps an exact index file whose header has been parsed (`header`, `fd` open on it).
  static std::unique_ptr<ExactFile> map(const std::filesystem::path& path, int fd, const IndexHeader& header, uint64_t file_size);
  ~ExactFile();
  ExactFile(const ExactFile&) = delete;
  ExactFile& operator=(const ExactFile&) = delete;

  // The k best (id, inner product), best first.
  std::vector<std::pair<int64_t, float>> search(const float* query, int64_t k) const;
  int64_t size() const { return n_; }
  // False when the file changed or was cut short since it was mapped (mapped_file.hpp): a search's
  // answer is then not to be used.
  bool intact() const { return !map_ || map_->intact(); }

 private:
  ExactFile() = default;
  std::unique_ptr<MappedFile> map_;
  int64_t n_ = 0, dim_ = 0;
  const int64_t* ids_ = nullptr;
  const float* vectors_ = nullptr;
};

// The k best of `scores` (parallel to `ids`): best first, equal scores by id.
std::vector<std::pair<int64_t, float>> top_k(const std::vector<float>& scores, const int64_t* ids, int64_t k);

}  // namespace xsearch
