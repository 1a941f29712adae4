#include "cli/full_exec.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "xsearch/error.hpp"

namespace xsearch::cli {

namespace {
int saved_argc = 0;
char** saved_argv = nullptr;
}  // namespace

void remember_arguments(int argc, char** argv) {
  saved_argc = argc;
  saved_argv = argv;
}

void exec_full() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto full = (ec ? std::filesystem::path(saved_argv[0]).parent_path() : self.parent_path()) / "xsearch-full";
  std::vector<char*> args(saved_argv, saved_argv + saved_argc);
  std::string path = full.string();
  args[0] = path.data();
  args.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execv(path.c_str(), args.data());
  throw Error(path + ": cannot run (" + std::strerror(errno) + "); this command needs xsearch-full installed next to xsearch");
}

}  // namespace xsearch::cli
