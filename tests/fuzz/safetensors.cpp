// Fuzz target: the safetensors reader (src/io/safetensors.cpp) on an arbitrary file: the 8-byte header
// length, the JSON header, every tensor entry, then reading every tensor's bytes. Bad input must end in
// xsearch::Error; anything else (another exception, a sanitizer report) is a finding.
#include <cstring>

#include "fuzz_util.hpp"
#include "xsearch/error.hpp"
#include "xsearch/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_file("model.safetensors", data, size);
  try {
    xsearch::SafetensorsFile file(path);
    std::size_t total = 0;
    for (const auto& info : file.tensors()) {
      if (file.find(info.name) != &info) __builtin_trap();  // every listed tensor is found by its name
      const auto t = file.read(info.name);
      // The bytes read are the tensor's extent, inside the file.
      if (t.bytes.size() != info.end - info.begin || info.end > size) __builtin_trap();
      if (!t.bytes.empty() && std::memcmp(t.bytes.data(), file.data(info), t.bytes.size()) != 0) __builtin_trap();
      total += t.bytes.size();
      file.prefetch(info);
    }
    if (total > size) __builtin_trap();  // tensors do not overlap, so they cannot hold more than the file
    for (const auto& [k, v] : file.metadata()) (void)k, (void)v;
  } catch (const xsearch::Error&) {
  }
  return 0;
}
