// A stand-in for PyTorch's libtorch.so: linked with -static-libstdc++, it carries and exports its own copy of
// the std::filesystem pieces it uses (PyTorch's exports 64 such symbols). Debian's LibTorch does not, so
// without this library the link-order check could only be shown passing.
#include <cstdint>
#include <filesystem>
#include <system_error>

std::uintmax_t crafted_torch_remove_all(const char* path) {
  std::error_code error;
  return std::filesystem::remove_all(std::filesystem::path(path), error);
}
