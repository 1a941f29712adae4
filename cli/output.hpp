// Writing results to stdout. A closed pipe (`xsearch ... | head`) is not an error: it ends the output
// quietly (BrokenPipe; main returns 0, and a command that catches it keeps its own status: ingest).
// Any other failed write (a full disk: `> /dev/full`) is an error: the results did not arrive.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "xsearch/error.hpp"

namespace xsearch::cli {

struct BrokenPipe {};

// Whether a write found the pipe closed: nothing written later can arrive.
inline bool& stdout_pipe_closed() {
  static bool closed = false;
  return closed;
}

// Throws BrokenPipe for a closed pipe, xsearch::Error for any other failure.
inline void check_stdout(int error) {
  if (error == EPIPE || stdout_pipe_closed()) {
    stdout_pipe_closed() = true;
    throw BrokenPipe{};
  }
  throw Error(std::string("stdout: ") + (error ? std::strerror(error) : "write failed"));
}

inline void write_stdout(const std::string& text) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) check_stdout(errno);
}

// At exit: whatever is still buffered must reach its file too (unless the reader has gone).
inline void flush_stdout() {
  if (stdout_pipe_closed()) return;
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) check_stdout(errno);
}

}  // namespace xsearch::cli
