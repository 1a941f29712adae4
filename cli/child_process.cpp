#include "cli/child_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <cstring>

#include "xsearch/error.hpp"

extern char** environ;

namespace xsearch::cli {

pid_t spawn_with_library(std::vector<std::string> args, const std::string& db, const std::filesystem::path& out,
                         const std::filesystem::path& err) {
  std::vector<std::string> env_strings = {"XSEARCH_DB=" + db};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "XSEARCH_DB=", 11) != 0) env_strings.emplace_back(*e);
  std::vector<char*> env, argv;
  for (auto& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (out.empty()) posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  else posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!err.empty()) posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  pid_t pid = 0;
  const int r = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (r != 0) throw Error(args[0] + ": cannot start (" + std::strerror(r) + ")");
  return pid;
}

}  // namespace xsearch::cli
