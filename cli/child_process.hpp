// Starting xsearch's helpers (xsearch-full, xsearch-media) as children of this process, the library named
// in their environment: a command line is readable by every local user (/proc/PID/cmdline, ps), and a
// PostgreSQL library's URI may hold a password.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace xsearch::cli {

// Starts `args` (args[0]: the program's path) with posix_spawn: its stdin /dev/null; its stdout to the file
// `out` and its stderr to the file `err`, each created (never an existing file) and private, or, when
// empty, stdout to /dev/null and stderr shared with this process. The environment is this process's with
// XSEARCH_DB set to `db` (which the helper reads where --db is not given). Returns the child's pid, for
// waitpid; throws xsearch::Error naming args[0] when it cannot start.
pid_t spawn_with_library(std::vector<std::string> args, const std::string& db, const std::filesystem::path& out = {},
                         const std::filesystem::path& err = {});

}  // namespace xsearch::cli
