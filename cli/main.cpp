// xsearch: make a folder of videos searchable in plain language. This file parses the command line,
// runs the chosen subcommand and turns errors into one line on stderr and exit status 2 (README: "Exit
// status"). Results that could not be written to stdout are such an error, except for a closed pipe.
#include <csignal>
#include <cstdio>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/full_exec.hpp"
#include "cli/output.hpp"
#include "xsearch/error.hpp"

int main(int argc, char** argv) {
  // Writing to a closed pipe must give EPIPE (handled as a quiet end), not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  xsearch::cli::remember_arguments(argc, argv);
  CLI::App app{"xsearch: search a folder of videos in plain language (X-CLIP, FAISS, SQLite)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "xsearch " XSEARCH_VERSION);
  xsearch::cli::Runner run;
  xsearch::cli::add_ingest_command(app, run);
  xsearch::cli::add_query_commands(app, run);
  xsearch::cli::add_library_commands(app, run);
  xsearch::cli::add_classify_command(app, run);
  xsearch::cli::add_model_commands(app, run);
  xsearch::cli::add_dev_commands(app, run);
  xsearch::cli::add_serve_command(app, run);
  xsearch::cli::add_thumbnails_command(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help (0) or the parse error
    return code == 0 ? 0 : 2;
  }
  try {
    const int status = run ? run() : 0;
    xsearch::cli::flush_stdout();
    return status;
  } catch (const xsearch::cli::BrokenPipe&) {
    return 0;
  } catch (const xsearch::Error& e) {
    fmt::print(stderr, "xsearch: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "xsearch: internal error: {}\n", e.what());
    return 2;
  }
}
