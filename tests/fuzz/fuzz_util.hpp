// Helpers shared by the fuzz targets: the readers under test take paths, so an input goes to a file first.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

// A folder of this process's own under $TMPDIR (libFuzzer's -fork/-jobs workers run side by side), made
// once and removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* t = std::getenv("TMPDIR");
    std::filesystem::path d = std::filesystem::path(t && *t ? t : "/tmp") / ("xsearch-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    static struct Remover {
      std::filesystem::path p;
      ~Remover() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
      }
    } remover{d};
    return d;
  }();
  return dir;
}

inline std::filesystem::path write_file(const std::string& name, const uint8_t* data, size_t size) {
  const auto p = scratch_dir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p;
}

inline std::filesystem::path write_file(const std::string& name, std::string_view text) {
  return write_file(name, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// Splits an input into up to `parts` pieces at lines that read exactly "=====" (the seeds show the format),
// so that one input can carry several files.
inline std::vector<std::string_view> split_parts(const uint8_t* data, size_t size, size_t parts) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> out;
  const std::string_view sep = "\n=====\n";
  while (out.size() + 1 < parts) {
    const auto at = all.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(all.substr(0, at));
    all.remove_prefix(at + sep.size());
  }
  out.push_back(all);
  return out;
}

}  // namespace fuzz
