// Writing results to stdout. A closed pipe (`xsearch ... | head`) is not an error: it ends the run quietly.
#pragma once

#include <cerrno>
#include <cstdio>
#include <string>

namespace xsearch::cli {

struct BrokenPipe {};

inline void write_stdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    if (errno == EPIPE) throw BrokenPipe{};
  }
}

}  // namespace xsearch::cli
