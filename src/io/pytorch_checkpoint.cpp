// pytorch_model.bin, as torch.save (PyTorch >= 1.6) writes it: a zip archive holding ARCHIVE/data.pkl (the
// state dict, whose tensors name their storages by key) and ARCHIVE/data/KEY (each storage's raw
// little-endian bytes). The zip is read with libzip (CRC-checked, consistency-checked); the pickle by our
// own interpreter, which builds data only. LibTorch is not needed, so the light `xsearch` converts too.
// The older non-zip format (one pickle stream followed by raw storages) is refused with a clear message:
// LibTorch does not read it either, and no X-CLIP checkpoint uses it.
#include "xsearch/checkpoint.hpp"

#ifdef XSEARCH_HAVE_LIBZIP
#include <zip.h>
#endif

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>

#include "io/torch_pickle.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace fs = std::filesystem;

namespace {

// A data.pkl larger than this is not a state dict's (base-patch32's is about 60 KB).
constexpr uint64_t kMaxPickleBytes = 256ull << 20;

#ifdef XSEARCH_HAVE_LIBZIP

class TorchZip {
 public:
  explicit TorchZip(const fs::path& path) : path_(path) {
    std::error_code ec;
    // libzip opens an empty file as an empty archive; for us it is a download that never started.
    if (fs::is_regular_file(path, ec) && fs::file_size(path, ec) == 0) fail("an empty file (truncated download?)");
    int code = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!zip_) fail(open_error(code));
    // torch.save puts every record under one folder named after the file ("pytorch_model/", "archive/").
    const zip_int64_t n = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(zip_, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
      if (!name) continue;
      const std::string s = name;
      const auto slash = s.find('/');
      if (slash != std::string::npos && s.compare(slash, std::string::npos, "/data.pkl") == 0) {
        if (!prefix_.empty()) fail("the archive holds two state dicts (" + prefix_ + "data.pkl and " + s + ")");
        prefix_ = s.substr(0, slash + 1);
      }
    }
    if (prefix_.empty()) fail("a zip archive without data.pkl: not a torch.save checkpoint");
    if (const auto order = find("byteorder")) {
      const std::vector<uint8_t> b = read(*order, 16);
      if (std::string(b.begin(), b.end()) != "little") fail("the checkpoint was saved on a big-endian machine; only little-endian is read");
    }
  }
  ~TorchZip() {
    if (zip_) zip_discard(zip_);
  }
  TorchZip(const TorchZip&) = delete;
  TorchZip& operator=(const TorchZip&) = delete;

  [[noreturn]] void fail(const std::string& cause) const { throw Error(path_.string() + ": " + cause); }

  // The index of ARCHIVE/`record`, if the archive has it.
  std::optional<zip_uint64_t> find(const std::string& record) const {
    const zip_int64_t i = zip_name_locate(zip_, (prefix_ + record).c_str(), ZIP_FL_ENC_RAW);
    if (i < 0) return std::nullopt;
    return static_cast<zip_uint64_t>(i);
  }

  uint64_t size(zip_uint64_t index) const {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_METHOD))
      fail("cannot read the zip directory (" + error() + ")");
    // torch.save stores every record uncompressed; refusing the others also keeps what we allocate below
    // the file's own size (a compressed record could claim any size).
    if (st.comp_method != ZIP_CM_STORE)
      fail(std::string(st.name ? st.name : "a record") + ": compressed in the zip (method " + std::to_string(st.comp_method) +
           "); torch.save stores its records uncompressed");
    return st.size;
  }

  // The whole record, checked against its CRC; refuses one larger than `limit` bytes.
  std::vector<uint8_t> read(zip_uint64_t index, uint64_t limit) const {
    const uint64_t n = size(index);
    const char* entry = zip_get_name(zip_, index, ZIP_FL_ENC_RAW);
    const std::string name = entry ? entry : "a record";
    if (n > limit) fail(name + ": " + std::to_string(n) + " bytes, more than the " + std::to_string(limit) + " expected");
    zip_file_t* f = zip_fopen_index(zip_, index, 0);
    if (!f) fail(name + ": cannot open in the zip (" + error() + ")");
    std::vector<uint8_t> out(static_cast<std::size_t>(n));
    uint64_t done = 0;
    std::string cause;
    while (cause.empty()) {
      // One read past the end: that is when libzip compares the CRC.
      uint8_t spare;
      uint8_t* into = done < n ? out.data() + done : &spare;
      const zip_uint64_t want = done < n ? n - done : 1;
      const zip_int64_t got = zip_fread(f, into, want);
      if (got < 0) cause = zip_error_strerror(zip_file_get_error(f));
      else if (got == 0) break;
      else if (done >= n) cause = "longer than its directory entry says";
      else done += static_cast<uint64_t>(got);
    }
    zip_fclose(f);
    if (cause.empty() && done != n) cause = "shorter than its directory entry says";
    if (!cause.empty()) fail(name + ": " + cause + " (damaged or truncated file?)");
    return out;
  }

  const std::string& prefix() const { return prefix_; }

 private:
  std::string error() const { return zip_strerror(zip_); }

  std::string open_error(int code) const {
    zip_error_t e;
    zip_error_init_with_code(&e, code);
    const std::string text = zip_error_strerror(&e);
    zip_error_fini(&e);
    if (code == ZIP_ER_NOZIP) {
      // The legacy format starts with a pickle (PROTO opcode); a zip's end record is missing when truncated.
      unsigned char head[2] = {0, 0};
      std::ifstream in(path_, std::ios::binary);
      in.read(reinterpret_cast<char*>(head), 2);
      if (head[0] == 0x80 && head[1] <= 5)
        return "the legacy (pre-1.6) torch.save format, which xsearch does not read (LibTorch does not either): "
               "save it again with a recent PyTorch, or use the repository's model.safetensors";
      return "not a complete zip archive (" + text + "): the file is truncated or damaged, or not a torch.save checkpoint";
    }
    if (code == ZIP_ER_INCONS || code == ZIP_ER_CRC)
      return "damaged zip archive (" + text + "): the file is truncated or corrupt";
    return "cannot open as a zip archive (" + text + ")";
  }

  fs::path path_;
  zip_t* zip_ = nullptr;
  std::string prefix_;
};

// The pickle's tensors, each checked against its storage record.
struct Checkpoint {
  TorchZip zip;
  std::vector<torch_bin::TensorRef> tensors;
  std::vector<zip_uint64_t> records;  // the storage record of each tensor

  explicit Checkpoint(const fs::path& path) : zip(path) {
    const zip_uint64_t pkl = *zip.find("data.pkl");
    const std::vector<uint8_t> bytes = zip.read(pkl, kMaxPickleBytes);
    tensors = torch_bin::read_state_dict_pickle(bytes.data(), bytes.size(), path.string() + ": " + zip.prefix() + "data.pkl");
    for (const auto& t : tensors) {
      const auto record = zip.find("data/" + t.storage_key);
      if (!record) zip.fail("tensor \"" + t.name + "\": its storage " + zip.prefix() + "data/" + t.storage_key + " is not in the archive");
      if (static_cast<uint64_t>(t.storage_numel) > std::numeric_limits<uint64_t>::max() / 8)
        zip.fail("tensor \"" + t.name + "\": storage " + t.storage_key + " claims " + std::to_string(t.storage_numel) + " values");
      const uint64_t want = static_cast<uint64_t>(t.storage_numel) * dtype_size(t.dtype);
      const uint64_t have = zip.size(*record);
      if (have != want)
        zip.fail("tensor \"" + t.name + "\": storage " + zip.prefix() + "data/" + t.storage_key + " has " + std::to_string(have) +
                 " bytes, but the pickle says " + std::to_string(t.storage_numel) + " " + dtype_name(t.dtype) + " values (" +
                 std::to_string(want) + " bytes)");
      records.push_back(*record);
    }
  }

  // Tensor i as contiguous row-major bytes.
  std::vector<uint8_t> bytes(std::size_t i) const {
    const torch_bin::TensorRef& t = tensors[i];
    std::vector<uint8_t> storage = zip.read(records[i], static_cast<uint64_t>(t.storage_numel) * dtype_size(t.dtype));
    if (t.offset == 0 && is_contiguous(t) && numel(t) == t.storage_numel) return storage;  // the usual case: no copy
    return gather(t, storage);
  }

  static int64_t numel(const torch_bin::TensorRef& t) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    return n;
  }

  // Row-major without gaps (dimensions of size 1 may have any stride).
  static bool is_contiguous(const torch_bin::TensorRef& t) {
    int64_t expected = 1;
    for (std::size_t d = t.shape.size(); d-- > 0;) {
      if (t.shape[d] != 1 && t.stride[d] != expected) return false;
      expected *= t.shape[d];
    }
    return true;
  }

  // The pickle reader has checked that the view lies inside the storage; views that are not one contiguous
  // run of elements (a transposed weight, a slice) are copied element by element.
  static std::vector<uint8_t> gather(const torch_bin::TensorRef& t, const std::vector<uint8_t>& storage) {
    const std::size_t e = dtype_size(t.dtype);
    const int64_t count = numel(t);
    std::vector<uint8_t> out(static_cast<std::size_t>(count) * e);
    if (count == 0) return out;
    if (is_contiguous(t)) {
      std::memcpy(out.data(), storage.data() + static_cast<std::size_t>(t.offset) * e, out.size());
      return out;
    }
    const std::size_t dims = t.shape.size();
    std::vector<int64_t> index(dims, 0);
    int64_t source = t.offset;
    for (int64_t k = 0; k < count; ++k) {
      std::memcpy(out.data() + static_cast<std::size_t>(k) * e, storage.data() + static_cast<std::size_t>(source) * e, e);
      for (std::size_t d = dims; d-- > 0;) {  // odometer: the last dimension moves fastest
        source += t.stride[d];
        if (++index[d] < t.shape[d]) break;
        source -= t.stride[d] * t.shape[d];
        index[d] = 0;
      }
    }
    return out;
  }
};

#endif  // XSEARCH_HAVE_LIBZIP

#ifndef XSEARCH_HAVE_LIBZIP
[[noreturn]] void unsupported(const fs::path& bin) {
  throw Error(bin.string() + ": this build of xsearch reads no pytorch_model.bin (built without libzip); convert it "
                             "to model.safetensors elsewhere");
}
#endif

}  // namespace

bool pytorch_checkpoint_supported() {
#ifdef XSEARCH_HAVE_LIBZIP
  return true;
#else
  return false;
#endif
}

NamedTensors read_pytorch_checkpoint(const fs::path& bin) {
#ifdef XSEARCH_HAVE_LIBZIP
  const Checkpoint c(bin);
  NamedTensors out;
  for (std::size_t i = 0; i < c.tensors.size(); ++i) {
    HostTensor t;
    t.dtype = c.tensors[i].dtype;
    t.shape = c.tensors[i].shape;
    t.bytes = c.bytes(i);
    out.emplace_back(c.tensors[i].name, std::move(t));
  }
  return out;
#else
  unsupported(bin);
#endif
}

void convert_pytorch_checkpoint(const fs::path& bin, const fs::path& out, std::map<std::string, std::string> metadata) {
#ifdef XSEARCH_HAVE_LIBZIP
  const Checkpoint c(bin);
  std::vector<std::size_t> order(c.tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return c.tensors[a].name < c.tensors[b].name; });
  std::vector<TensorHeader> headers;
  for (std::size_t i : order) headers.push_back({c.tensors[i].name, c.tensors[i].dtype, c.tensors[i].shape});
  metadata.emplace("format", "pt");
  write_safetensors_streamed(out, headers, [&](std::size_t k) { return c.bytes(order[k]); }, metadata);
#else
  (void)out;
  (void)metadata;
  unsupported(bin);
#endif
}

}  // namespace xsearch
