// xsearch comes as two executables built from the same sources: `xsearch`, which answers queries and
// manages the library without loading LibTorch or FFmpeg (LibTorch alone costs half a second of start-up),
// and `xsearch-full` beside it, which also ingests, classifies and runs the dev tools. `xsearch` hands the
// commands it cannot run to `xsearch-full` with the same arguments (as git does with its helpers).
#pragma once

#include <filesystem>
#include <string>

namespace xsearch::cli {

void remember_arguments(int argc, char** argv);
// Replaces this process by xsearch-full with the same arguments; throws xsearch::Error if it cannot.
[[noreturn]] void exec_full();

// Where xsearch-full is, never in the current folder by accident: beside `self_exe` (this executable
// as /proc/self/exe names it; empty when /proc is unavailable), else beside `argv0` when it holds a '/'
// (the shell ran a path), else the first executable xsearch-full in the absolute folders of `path_env`
// ($PATH; empty and relative entries, which would mean the current folder, are skipped). Throws
// xsearch::Error when none is found.
std::filesystem::path find_full_helper(const std::filesystem::path& self_exe, const std::string& argv0, const std::string& path_env);

}  // namespace xsearch::cli

#ifdef XSEARCH_FULL
#define XSEARCH_FULL_ONLY(call) (call)
#else
#define XSEARCH_FULL_ONLY(call) (::xsearch::cli::exec_full(), 0)
#endif
