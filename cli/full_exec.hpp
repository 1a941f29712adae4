// xsearch comes as three executables built from the same sources: `xsearch`, which answers queries and
// manages the library without loading LibTorch or FFmpeg (LibTorch alone costs half a second of start-up,
// FFmpeg's libraries about 50 ms); `xsearch-media` beside it, with FFmpeg but no LibTorch, which serves the
// search page, makes thumbnails and cuts clips; and `xsearch-full`, which has everything and also ingests,
// classifies and runs the dev tools. Each hands the commands it cannot run to a helper with the same
// arguments (as git does with its helpers).
#pragma once

#include <filesystem>
#include <string>

namespace xsearch::cli {

void remember_arguments(int argc, char** argv);
// Replaces this process by the helper `name` ("xsearch-full", "xsearch-media") with the same arguments;
// throws xsearch::Error if it cannot.
[[noreturn]] void exec_helper(const char* name);
[[noreturn]] inline void exec_full() { exec_helper("xsearch-full"); }
[[noreturn]] inline void exec_media() { exec_helper("xsearch-media"); }
// The path of helper `name` for this process (as exec_helper would run it), e.g. to start it as a child.
std::filesystem::path helper_path(const char* name);

// The installed helpers' folder relative to the folder of `xsearch` (CMake sets it from GNUInstallDirs:
// bin/xsearch, libexec/xsearch/xsearch-full).
#ifndef XSEARCH_HELPER_DIR_FROM_BIN
#define XSEARCH_HELPER_DIR_FROM_BIN "../libexec/xsearch"
#endif

// Where helper `name` is, never in the current folder by accident: in the folder of `self_exe` (this
// executable as /proc/self/exe names it; empty when /proc is unavailable), else of `argv0` when it holds a
// '/' (the shell ran a path), else the first executable `name` in the absolute folders of `path_env`
// ($PATH; empty and relative entries, which would mean the current folder, are skipped). "In the folder"
// means beside it (the build tree), else in XSEARCH_HELPER_DIR_FROM_BIN from it (an install), else beside
// it. Throws xsearch::Error when none is found.
std::filesystem::path find_helper(const std::string& name, const std::filesystem::path& self_exe, const std::string& argv0,
                                  const std::string& path_env);
inline std::filesystem::path find_full_helper(const std::filesystem::path& self_exe, const std::string& argv0, const std::string& path_env) {
  return find_helper("xsearch-full", self_exe, argv0, path_env);
}

}  // namespace xsearch::cli

#ifdef XSEARCH_FULL
#define XSEARCH_FULL_ONLY(call) (call)
#else
#define XSEARCH_FULL_ONLY(call) (::xsearch::cli::exec_full(), 0)
#endif

// XSEARCH_MEDIA: this executable links FFmpeg (xsearch-media and xsearch-full).
#if defined(XSEARCH_FULL) && !defined(XSEARCH_MEDIA)
#define XSEARCH_MEDIA
#endif
#ifdef XSEARCH_MEDIA
#define XSEARCH_MEDIA_ONLY(call) (call)
#else
#define XSEARCH_MEDIA_ONLY(call) (::xsearch::cli::exec_media(), 0)
#endif
