// Writing pytorch_model.bin files in tests: pickle bytes opcode by opcode, as torch.save (protocol 2) writes
// them, inside a zip written with libzip (records stored uncompressed, as torch.save stores them).
#pragma once

#include <zip.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "catch_compat.hpp"

#include "xsearch/safetensors.hpp"

namespace xsearch::test {

// Pickle bytes written by hand, opcode by opcode, as torch.save (protocol 2) writes them.
struct Pickle {
  std::string b = "\x80\x02";  // PROTO 2
  Pickle& raw(const std::string& s) {
    b += s;
    return *this;
  }
  Pickle& u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) b += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  Pickle& str(const std::string& s) { return raw("X").u32(static_cast<uint32_t>(s.size())).raw(s); }
  Pickle& integer(int32_t v) { return raw("J").u32(static_cast<uint32_t>(v)); }
  Pickle& global(const std::string& module, const std::string& name) { return raw("c" + module + "\n" + name + "\n"); }
  Pickle& ints(const std::vector<int32_t>& v) {
    raw("(");
    for (int32_t x : v) integer(x);
    return raw("t");
  }
  // _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& storage_type, const std::string& key, int32_t numel, int32_t offset,
                 const std::vector<int32_t>& size, const std::vector<int32_t>& stride) {
    global("torch._utils", "_rebuild_tensor_v2").raw("(");
    raw("(").str("storage").global("torch", storage_type).str(key).str("cpu").integer(numel).raw("t").raw("Q");
    integer(offset).ints(size).ints(stride).raw("\x89");
    global("collections", "OrderedDict").raw(")R");
    return raw("tR");
  }
};

// A zip of `records` (name, bytes), stored uncompressed as torch.save stores them.
inline void write_zip(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& records) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  REQUIRE(z != nullptr);
  for (const auto& [name, bytes] : records) {
    zip_source_t* src = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    REQUIRE(src != nullptr);
    const zip_int64_t i = zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    REQUIRE(i >= 0);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(i), ZIP_CM_STORE, 0);
  }
  REQUIRE(zip_close(z) == 0);  // the buffers are read here, while `records` lives
}

// A torch.save file of `tensors` (contiguous, one storage each), as transformers' save_pretrained writes it.
inline void write_state_dict_bin(const std::filesystem::path& path, const NamedTensors& tensors) {
  const auto storage_type = [](DType d) -> std::string {
    switch (d) {
      case DType::F32: return "FloatStorage";
      case DType::F16: return "HalfStorage";
      case DType::BF16: return "BFloat16Storage";
      case DType::I64: return "LongStorage";
      default: FAIL("no storage type for " << dtype_name(d)); return "";
    }
  };
  Pickle p;
  p.raw("}(");
  std::vector<std::pair<std::string, std::string>> records;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const HostTensor& t = tensors[i].second;
    std::vector<int32_t> shape, stride(t.shape.size());
    int32_t step = 1;
    for (std::size_t d = t.shape.size(); d-- > 0;) {
      stride[d] = step;
      step *= static_cast<int32_t>(t.shape[d]);
    }
    for (int64_t d : t.shape) shape.push_back(static_cast<int32_t>(d));
    p.str(tensors[i].first).tensor(storage_type(t.dtype), std::to_string(i), static_cast<int32_t>(t.numel()), 0, shape, stride);
    records.emplace_back("archive/data/" + std::to_string(i), std::string(t.bytes.begin(), t.bytes.end()));
  }
  p.raw("u.");
  records.insert(records.begin(), {"archive/data.pkl", p.b});
  records.emplace_back("archive/version", "3\n");
  write_zip(path, records);
}

}  // namespace xsearch::test
