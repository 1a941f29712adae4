// Running the xsearch executable from tests: exit status, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <string>

#include "helpers.hpp"

namespace xsearch::test {

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `xsearch ARGS` through the shell, with `stdin_text` on standard input.
inline Result xsearch_run(const std::string& args, const std::string& stdin_text = "") {
  test::TempDir tmp;
  test::write_file(tmp / "in", stdin_text);
  const std::string cmd = quote(XSEARCH_BINARY) + " " + args + " <" + quote((tmp / "in").string()) + " >" +
                          quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
  Result r;
  const int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = test::read_file(tmp / "out");
  r.err = test::read_file(tmp / "err");
  return r;
}


}  // namespace xsearch::test
