#include "full_exec.hpp"  // beside this file (also built into the tests)

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "xsearch/error.hpp"

namespace xsearch::cli {

namespace fs = std::filesystem;

namespace {
int saved_argc = 0;
char** saved_argv = nullptr;
}  // namespace

void remember_arguments(int argc, char** argv) {
  saved_argc = argc;
  saved_argv = argv;
}

namespace {
// Beside the executable (the build tree, or a package that puts everything in one folder), else in the
// installed helpers' folder relative to it (bin/../libexec/xsearch); the first when neither holds it, so
// that the error names the usual place.
fs::path beside_or_installed(const std::string& name, const fs::path& folder) {
  const fs::path beside = folder / name;
  if (::access(beside.c_str(), X_OK) == 0) return beside;
  const fs::path installed = (folder / XSEARCH_HELPER_DIR_FROM_BIN / name).lexically_normal();
  if (::access(installed.c_str(), X_OK) == 0) return installed;
  return beside;
}
}  // namespace

fs::path find_helper(const std::string& name, const fs::path& self_exe, const std::string& argv0, const std::string& path_env) {
  if (!self_exe.empty()) return beside_or_installed(name, self_exe.parent_path());
  if (argv0.find('/') != std::string::npos) return beside_or_installed(name, fs::path(argv0).parent_path());
  // Run by name from $PATH: look where the shell would have, minus the entries that mean "here".
  std::size_t pos = 0;
  while (pos <= path_env.size()) {
    auto colon = path_env.find(':', pos);
    if (colon == std::string::npos) colon = path_env.size();
    const fs::path dir = path_env.substr(pos, colon - pos);
    pos = colon + 1;
    if (dir.empty() || !dir.is_absolute()) continue;
    const fs::path candidate = dir / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw Error(name + ": not found (/proc/self/exe is unavailable and no absolute folder of PATH holds it); " +
              "run xsearch by its full path, or put " + name + " next to it in PATH");
}

fs::path helper_path(const char* name) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const char* path_env = std::getenv("PATH");
  return find_helper(name, ec ? fs::path() : self, saved_argc > 0 ? saved_argv[0] : "", path_env ? path_env : "");
}

void exec_helper(const char* name) {
  std::vector<char*> args(saved_argv, saved_argv + saved_argc);
  std::string path = helper_path(name).string();
  if (args.empty()) args.push_back(nullptr);
  args[0] = path.data();
  args.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execv(path.c_str(), args.data());
  throw Error(path + ": cannot run (" + std::strerror(errno) + "); this command needs " + name + " installed next to xsearch or in " +
              XSEARCH_HELPER_DIR_FROM_BIN + " from it");
}

}  // namespace xsearch::cli
