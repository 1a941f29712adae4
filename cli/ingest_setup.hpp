// What `xsearch ingest` and `xsearch watch` share (cmd_ingest.cpp): their settings and options, the model
// a run uses (the library's, or the default one fetched on a first run), the stop signals, the summary.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "xsearch/ingest.hpp"

namespace xsearch::cli {

struct IngestArgs {
  std::vector<std::string> paths;
  std::vector<std::string> exclude;  // --exclude GLOB: remembered per root in the library
  std::string db, model, device = "auto", dtype = "auto";
  double window = 4.0, stride = 0.0;
  int batch = 0, threads = 0;  // batch 0: by device (IngestOptions::batch)
  int decoders = 0;            // 0: from the cores (IngestOptions::decoders)
  bool hidden = false, quiet = false, json = false, store_prompts = false, yes = false, prune_offline = false, no_wait = false;
  bool normal_priority = false;
};

// The options of both commands (not the paths, --json, --prune-offline or --no-wait, which differ).
void add_ingest_settings(CLI::App* cmd, IngestArgs& a);
// Their checks, from a parse callback (throws CLI::ValidationError).
void check_ingest_settings(const IngestArgs& a);

#ifdef XSEARCH_FULL
// Nice +10 unless --normal-priority; first thing, before any thread exists.
void lower_priority(bool normal_priority);
// The ingest's options from the arguments: the library, the model (asked for and fetched on a first run).
IngestOptions ingest_options(const IngestArgs& a);
// SIGINT/SIGTERM: the first sets the stop signal, a second ends the process at once.
void install_stop_handlers();
int stop_signal();
// Whether a progress line is on the terminal now (a second signal clears it before exiting).
void set_progress_on_terminal(bool on);
// The ingest summary (JSON with --json, lines for people, nothing with --quiet).
void print_summary(const IngestReport& r, const IngestArgs& a);
// The counts that `ingest --json` and each `watch --json` pass give alike, appended to `out` in their
// documented order: indexed, clips, unchanged, moved, removed, failed, partial, offline, not_video.
void add_ingest_counts(nlohmann::ordered_json& out, const IngestReport& r);
// (path, cause) pairs as the JSON outputs list them: [{"path": ..., "error": ...}, ...].
nlohmann::ordered_json path_errors_json(const std::vector<std::pair<std::string, std::string>>& list);
#endif

}  // namespace xsearch::cli
