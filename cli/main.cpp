// xsearch: make a folder of videos searchable in plain language. This file parses the command line,
// runs the chosen subcommand and turns errors into one line on stderr and exit status 2 (README: "Exit
// status"). Results that could not be written to stdout are such an error, except for a closed pipe.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/full_exec.hpp"
#include "cli/output.hpp"
#include "cli/suggest.hpp"
#include "xsearch/error.hpp"

namespace {

// The variables xsearch reads, for `xsearch --help` (README: "Environment").
constexpr const char* kEnvironment = R"(Environment:
  XSEARCH_DB              the library when --db is not given (a file, or postgresql://...);
                          default $XDG_DATA_HOME/xsearch/library.db (~/.local/share/xsearch/library.db)
  XSEARCH_MODEL           the model when --model is not given: a folder or a hub id
  XSEARCH_DEVICE          --device's default: auto, cpu, cuda or cuda:N
  XSEARCH_DTYPE           ingest --dtype's default
  XSEARCH_PLAYER          the player of query --open (default: mpv, vlc, ffplay, xdg-open)
  XSEARCH_LEASE_SECONDS   a shared library's claim lease (default 60)
  XSEARCH_STORE_WAIT_SECONDS  how long a shared ingest's save may wait for the server (default 3600)
  XSEARCH_DECODE_STALL_SECONDS  ingest gives up a video's decode or fingerprint read after this long
                          without progress (default 300)
  XSEARCH_MAX_STUCK_READS reads that never return (a dead mount) before ingest stops (default 16)
  XSEARCH_COMMIT_BACKLOG_BYTES  memory for videos waiting for their turn to be stored (default 512M)
  HF_HOME, HF_HUB_CACHE   the Hugging Face cache models live in (default ~/.cache/huggingface/hub)
  HF_ENDPOINT, HF_TOKEN   the hub to download from, and its token
  HF_HUB_OFFLINE          never download
  XDG_CACHE_HOME          converted checkpoints, a shared library's local index (default ~/.cache)
Exit status: 0 ok, 1 nothing found, 2 error, 3 ingest done but some files failed (README: "Exit status").
)";

}  // namespace

int main(int argc, char** argv) {
  // Writing to a closed pipe must give EPIPE (handled as a quiet end), not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  xsearch::cli::remember_arguments(argc, argv);
  CLI::App app{"xsearch: search a folder of videos in plain language (X-CLIP, FAISS, SQLite)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "xsearch " XSEARCH_VERSION);
  // Every option's default in --help ("[10]"); subcommands inherit this from the app.
  app.option_defaults()->always_capture_default();
  app.footer(kEnvironment);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "xsearch: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });
  xsearch::cli::Runner run;
  xsearch::cli::add_ingest_command(app, run);
  xsearch::cli::add_watch_command(app, run);
  xsearch::cli::add_exclude_commands(app, run);
  xsearch::cli::add_query_command(app, run);
  xsearch::cli::add_export_command(app, run);
  xsearch::cli::add_library_commands(app, run);
  xsearch::cli::add_classify_command(app, run);
  xsearch::cli::add_model_commands(app, run);
  xsearch::cli::add_dev_commands(app, run);
  xsearch::cli::add_serve_command(app, run);
  xsearch::cli::add_thumbnails_command(app, run);
  xsearch::cli::add_completion_commands(app, run);
  const std::vector<std::string> args(argv + 1, argv + argc);
  // CLI11 says "A subcommand is required" for `xsearch search dog`: name the command and the closest one.
  if (const std::string unknown = xsearch::cli::unknown_command_message(app, args); !unknown.empty()) {
    fmt::print(stderr, "xsearch: {}\n", unknown);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    const std::string unknown = xsearch::cli::unknown_option_message(app, args);
    if (unknown.empty()) return app.exit(e) == 0 ? 0 : 2;
    fmt::print(stderr, "xsearch: {}\n", unknown);
    return 2;
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
