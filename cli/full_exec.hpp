// xsearch comes as two executables built from the same sources: `xsearch`, which answers queries and
// manages the library without loading LibTorch or FFmpeg (LibTorch alone costs half a second of start-up),
// and `xsearch-full` beside it, which also ingests, classifies and runs the dev tools. `xsearch` hands the
// commands it cannot run to `xsearch-full` with the same arguments (as git does with its helpers).
#pragma once

namespace xsearch::cli {

void remember_arguments(int argc, char** argv);
// Replaces this process by xsearch-full with the same arguments; throws xsearch::Error if it cannot.
[[noreturn]] void exec_full();

}  // namespace xsearch::cli

#ifdef XSEARCH_FULL
#define XSEARCH_FULL_ONLY(call) (call)
#else
#define XSEARCH_FULL_ONLY(call) (::xsearch::cli::exec_full(), 0)
#endif
