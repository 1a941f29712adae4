#include "xsearch/host_tensor.hpp"

#include <cstring>
#include <stdexcept>

#include "xsearch/error.hpp"
#include "io/half_float.hpp"

namespace xsearch {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
  }
  throw std::logic_error("dtype_size: unknown dtype");
}

namespace {
const std::pair<DType, const char*> kNames[] = {
    {DType::F64, "F64"}, {DType::F32, "F32"}, {DType::F16, "F16"}, {DType::BF16, "BF16"},
    {DType::I64, "I64"}, {DType::I32, "I32"}, {DType::I16, "I16"}, {DType::I8, "I8"},
    {DType::U8, "U8"},   {DType::BOOL, "BOOL"}};
}  // namespace

std::string dtype_name(DType dtype) {
  for (const auto& [d, n] : kNames)
    if (d == dtype) return n;
  throw std::logic_error("dtype_name: unknown dtype");
}

DType dtype_from_name(const std::string& name) {
  for (const auto& [d, n] : kNames)
    if (name == n) return d;
  throw Error("unsupported dtype \"" + name + "\"");
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string HostTensor::shape_string() const { return shape_to_string(shape); }

const float* HostTensor::f32() const {
  if (dtype != DType::F32) throw std::logic_error("HostTensor::f32 on a " + dtype_name(dtype) + " tensor");
  return reinterpret_cast<const float*>(bytes.data());
}
float* HostTensor::f32() {
  if (dtype != DType::F32) throw std::logic_error("HostTensor::f32 on a " + dtype_name(dtype) + " tensor");
  return reinterpret_cast<float*>(bytes.data());
}
const int64_t* HostTensor::i64() const {
  if (dtype != DType::I64) throw std::logic_error("HostTensor::i64 on a " + dtype_name(dtype) + " tensor");
  return reinterpret_cast<const int64_t*>(bytes.data());
}

template <typename T>
static T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::vector<float> HostTensor::to_float() const {
  const std::size_t n = static_cast<std::size_t>(numel());
  std::vector<float> out(n);
  const uint8_t* p = bytes.data();
  const std::size_t es = dtype_size(dtype);
  for (std::size_t i = 0; i < n; ++i, p += es) {
    switch (dtype) {
      case DType::F64: out[i] = static_cast<float>(load<double>(p)); break;
      case DType::F32: out[i] = load<float>(p); break;
      case DType::F16: out[i] = half_to_float(load<uint16_t>(p)); break;
      case DType::BF16: out[i] = bfloat16_to_float(load<uint16_t>(p)); break;
      case DType::I64: out[i] = static_cast<float>(load<int64_t>(p)); break;
      case DType::I32: out[i] = static_cast<float>(load<int32_t>(p)); break;
      case DType::I16: out[i] = static_cast<float>(load<int16_t>(p)); break;
      case DType::I8: out[i] = static_cast<float>(load<int8_t>(p)); break;
      case DType::U8: case DType::BOOL: out[i] = static_cast<float>(*p); break;
    }
  }
  return out;
}

std::vector<int64_t> HostTensor::to_int64() const {
  const std::size_t n = static_cast<std::size_t>(numel());
  std::vector<int64_t> out(n);
  const uint8_t* p = bytes.data();
  const std::size_t es = dtype_size(dtype);
  for (std::size_t i = 0; i < n; ++i, p += es) {
    switch (dtype) {
      case DType::I64: out[i] = load<int64_t>(p); break;
      case DType::I32: out[i] = load<int32_t>(p); break;
      case DType::I16: out[i] = load<int16_t>(p); break;
      case DType::I8: out[i] = load<int8_t>(p); break;
      case DType::U8: case DType::BOOL: out[i] = *p; break;
      default: throw Error("expected an integer tensor, got " + dtype_name(dtype));
    }
  }
  return out;
}

template <typename T>
static HostTensor make(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  if (static_cast<std::size_t>(t.numel()) != values.size())
    throw std::logic_error("HostTensor: " + std::to_string(values.size()) + " values for shape " + t.shape_string());
  t.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

HostTensor HostTensor::from_f32(std::vector<int64_t> shape, const std::vector<float>& values) {
  return make(DType::F32, std::move(shape), values);
}
HostTensor HostTensor::from_i64(std::vector<int64_t> shape, const std::vector<int64_t>& values) {
  return make(DType::I64, std::move(shape), values);
}
HostTensor HostTensor::from_u8(std::vector<int64_t> shape, const std::vector<uint8_t>& values) {
  return make(DType::U8, std::move(shape), values);
}

}  // namespace xsearch
