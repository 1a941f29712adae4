// Uses the crafted "libtorch" and std::filesystem, as every xsearch executable uses LibTorch and
// std::filesystem. Prints the number of entries std::filesystem::remove_all removed.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <system_error>

std::uintmax_t crafted_torch_remove_all(const char* path);

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::error_code error;
  std::uintmax_t removed = std::filesystem::remove_all(std::filesystem::path(argv[1]), error);
  if (error) return 1;
  removed += crafted_torch_remove_all(argv[1]);  // nothing left: keeps the library NEEDED under --as-needed
  std::printf("%ju\n", removed);
  return 0;
}
