// A plain host-memory tensor for the public API and for safetensors files, so that callers (the CLI, the
// index) never need LibTorch types. Row-major, contiguous, little-endian bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xsearch {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

// Size in bytes of one element of `dtype`.
std::size_t dtype_size(DType dtype);
// The safetensors spelling ("F32", "I64", ...).
std::string dtype_name(DType dtype);
// Parses the safetensors spelling; throws xsearch::Error for an unknown one.
DType dtype_from_name(const std::string& name);

struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  int64_t numel() const;
  // "[2, 3, 4]", for messages.
  std::string shape_string() const;

  // Typed views; they check the dtype (a mismatch is a bug in the caller, so it throws std::logic_error).
  const float* f32() const;
  float* f32();
  const int64_t* i64() const;

  // Values converted to float (F32, F16, BF16, F64, integers) or to int64 (integer types).
  std::vector<float> to_float() const;
  std::vector<int64_t> to_int64() const;

  static HostTensor from_f32(std::vector<int64_t> shape, const std::vector<float>& values);
  static HostTensor from_i64(std::vector<int64_t> shape, const std::vector<int64_t>& values);
  static HostTensor from_u8(std::vector<int64_t> shape, const std::vector<uint8_t>& values);
};

std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace xsearch
