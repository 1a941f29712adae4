// Reader and writer for the safetensors format (8-byte little-endian header length, a JSON header, then the
// raw tensor bytes). The reader memory-maps the file: tensors are read in place, never copied whole.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xsearch/host_tensor.hpp"

namespace xsearch {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::size_t begin = 0;  // byte offsets in the data section, [begin, end)
  std::size_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`: header length, JSON, dtypes, shapes against byte ranges, ranges inside the
  // file and not overlapping. Throws xsearch::Error("path: cause") on any defect.
  explicit SafetensorsFile(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Every tensor, sorted by name.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;
  // Start of a tensor's bytes inside the mapping (valid while this object lives; may be unaligned).
  const uint8_t* data(const TensorInfo& info) const;
  // Maps the tensor's pages into this process at once (they are read in place later): one system call
  // instead of a page fault per 4 KB. A hint only; failures are ignored.
  void prefetch(const TensorInfo& info) const;
  // A copy of one tensor; throws xsearch::Error naming the file if it is absent.
  HostTensor read(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::filesystem::path path_;
  const uint8_t* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::size_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, HostTensor>>;

// Writes `tensors` (names must be unique) to `path` through a temporary file and a rename, so that a reader
// never sees half a file.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The same file, with each tensor's bytes asked of `bytes_of(i)` when its turn comes, so that only one
// tensor is in memory at a time (converting a checkpoint that does not fit in memory twice).
struct TensorHeader {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};
void write_safetensors_streamed(const std::filesystem::path& path, const std::vector<TensorHeader>& tensors,
                                const std::function<std::vector<uint8_t>(std::size_t)>& bytes_of,
                                const std::map<std::string, std::string>& metadata = {});

}  // namespace xsearch
