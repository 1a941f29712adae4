#include "xsearch/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace {

// A header larger than this is certainly not a checkpoint's (base-patch32's is about 60 KB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& cause) {
  throw Error(path.string() + ": " + cause);
}

TensorInfo parse_entry(const std::filesystem::path& path, const std::string& name, const nlohmann::json& entry,
                       std::size_t data_size) {
  const std::string where = "tensor \"" + name + "\": ";
  if (!entry.is_object()) fail(path, where + "header entry is not an object");
  TensorInfo info;
  info.name = name;
  auto dtype = entry.find("dtype");
  auto shape = entry.find("shape");
  auto offsets = entry.find("data_offsets");
  if (dtype == entry.end() || !dtype->is_string()) fail(path, where + "missing or invalid \"dtype\"");
  if (shape == entry.end() || !shape->is_array()) fail(path, where + "missing or invalid \"shape\"");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2)
    fail(path, where + "missing or invalid \"data_offsets\"");
  try {
    info.dtype = dtype_from_name(dtype->get<std::string>());
  } catch (const Error& e) {
    fail(path, where + e.what());
  }
  // Count elements in 128 bits' worth of care: a hostile shape must not overflow into a small byte count.
  uint64_t numel = 1;
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned()) fail(path, where + "shape has a negative or non-integer dimension");
    const uint64_t v = d.get<uint64_t>();
    if (v != 0 && numel > std::numeric_limits<uint64_t>::max() / v / 8) fail(path, where + "shape is too large");
    numel *= v;
    info.shape.push_back(static_cast<int64_t>(v));
  }
  for (const auto& o : *offsets)
    if (!o.is_number_unsigned()) fail(path, where + "data_offsets must be non-negative integers");
  const uint64_t begin = (*offsets)[0].get<uint64_t>();
  const uint64_t end = (*offsets)[1].get<uint64_t>();
  if (begin > end) fail(path, where + "data_offsets are reversed");
  if (end > data_size)
    fail(path, where + "data ends at byte " + std::to_string(end) + " but the file has only " +
                   std::to_string(data_size) + " bytes of data (truncated file?)");
  const uint64_t expected = numel * dtype_size(info.dtype);
  if (end - begin != expected)
    fail(path, where + "shape " + shape_to_string(info.shape) + " of " + dtype_name(info.dtype) + " needs " +
                   std::to_string(expected) + " bytes, data_offsets give " + std::to_string(end - begin));
  info.begin = static_cast<std::size_t>(begin);
  info.end = static_cast<std::size_t>(end);
  return info;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail(path, "is a directory");
  }
  map_size_ = static_cast<std::size_t>(st.st_size);
  if (map_size_ < 8) {
    ::close(fd);
    fail(path, "not a safetensors file: " + std::to_string(map_size_) + " bytes, shorter than the 8-byte header length");
  }
  void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) fail(path, std::string("mmap failed: ") + std::strerror(errno));
  map_ = static_cast<const uint8_t*>(m);

  try {
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | map_[i];
    if (header_len > kMaxHeaderBytes || header_len > map_size_ - 8)
      fail(path, "malformed header: header length " + std::to_string(header_len) + " does not fit a " +
                     std::to_string(map_size_) + "-byte file (truncated or not a safetensors file)");
    data_start_ = 8 + static_cast<std::size_t>(header_len);
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(map_ + 8, map_ + data_start_);
    } catch (const nlohmann::json::exception& e) {
      fail(path, std::string("malformed header: invalid JSON (") + e.what() + ")");
    }
    if (!header.is_object()) fail(path, "malformed header: not a JSON object");
    const std::size_t data_size = map_size_ - data_start_;
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        if (!entry.is_object()) fail(path, "malformed header: __metadata__ is not an object");
        for (const auto& [k, v] : entry.items())
          if (v.is_string()) metadata_[k] = v.get<std::string>();
        continue;
      }
      tensors_.push_back(parse_entry(path, name, entry, data_size));
    }
    // Byte ranges must not overlap: a file that aliases two tensors is corrupt.
    std::vector<const TensorInfo*> by_offset;
    for (const auto& t : tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
    for (std::size_t i = 1; i < by_offset.size(); ++i)
      if (by_offset[i]->begin < by_offset[i - 1]->end && by_offset[i]->begin != by_offset[i]->end)
        fail(path, "tensors \"" + by_offset[i - 1]->name + "\" and \"" + by_offset[i]->name + "\" overlap");
    std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(map_), map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return (it != tensors_.end() && it->name == name) ? &*it : nullptr;
}

const uint8_t* SafetensorsFile::data(const TensorInfo& info) const { return map_ + data_start_ + info.begin; }

void SafetensorsFile::prefetch(const TensorInfo& info) const {
  if (info.end == info.begin) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data(info)) & ~(page - 1);
  const auto end = reinterpret_cast<uintptr_t>(data(info)) + (info.end - info.begin);
  void* addr = reinterpret_cast<void*>(begin);
#ifdef MADV_POPULATE_READ
  if (::madvise(addr, end - begin, MADV_POPULATE_READ) == 0) return;  // Linux 5.14+
#endif
  ::madvise(addr, end - begin, MADV_WILLNEED);
}

HostTensor SafetensorsFile::read(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (!info) fail(path_, "no tensor named \"" + name + "\"");
  HostTensor t;
  t.dtype = info->dtype;
  t.shape = info->shape;
  t.bytes.assign(data(*info), data(*info) + (info->end - info->begin));
  return t;
}

void write_safetensors_streamed(const std::filesystem::path& path, const std::vector<TensorHeader>& tensors,
                                const std::function<std::vector<uint8_t>(std::size_t)>& bytes_of,
                                const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<std::size_t> sizes;
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    if (header.contains(t.name)) throw Error(path.string() + ": duplicate tensor name \"" + t.name + "\"");
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    sizes.push_back(static_cast<std::size_t>(numel) * dtype_size(t.dtype));
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + sizes.back()}}};
    offset += sizes.back();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  // An AtomicFile: two processes writing the same file at once (two commands converting one checkpoint)
  // never write into each other's temporary file, and a crash leaves the old file or the whole new one.
  AtomicFile file(path);
  uint8_t len[8];
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  file.write(len, 8);
  file.write(text.data(), text.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::vector<uint8_t> bytes = bytes_of(i);
    if (bytes.size() != sizes[i])
      throw std::logic_error("write_safetensors: tensor " + tensors[i].name + " has the wrong byte count");
    file.write(bytes.data(), bytes.size());
  }
  file.commit();
}

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorHeader> headers;
  for (const auto& [name, t] : tensors) {
    if (t.bytes.size() != static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype))
      throw std::logic_error("write_safetensors: tensor " + name + " has the wrong byte count");
    headers.push_back({name, t.dtype, t.shape});
  }
  write_safetensors_streamed(path, headers, [&](std::size_t i) { return tensors[i].second.bytes; }, metadata);
}

}  // namespace xsearch
