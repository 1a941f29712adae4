// Writing results to stdout. A closed pipe (`xsearch ... | head`) is not an error: it ends the run quietly.
// Any other failed write (a full disk: `> /dev/full`) is an error: the results did not arrive.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "xsearch/error.hpp"

namespace xsearch::cli {

struct BrokenPipe {};

// Throws BrokenPipe for a closed pipe, xsearch::Error for any other failure.
inline void check_stdout(int error) {
  if (error == EPIPE) throw BrokenPipe{};
  throw Error(std::string("stdout: ") + (error ? std::strerror(error) : "write failed"));
}

inline void write_stdout(const std::string& text) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) check_stdout(errno);
}

// At exit: whatever is still buffered must reach its file too.
inline void flush_stdout() {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) check_stdout(errno);
}

}  // namespace xsearch::cli
