// `xsearch watch ROOT...`: keep a library current (include/xsearch/watch.hpp). A catch-up ingest at the
// start, then one ingest pass per batch of changes; one line (or one JSON line) per pass on stdout.
#include <fmt/core.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cli/arg_checks.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/full_exec.hpp"
#include "cli/ingest_setup.hpp"
#include "cli/progress.hpp"
#include "xsearch/error.hpp"
#include "xsearch/watch.hpp"

namespace xsearch::cli {

namespace {

struct WatchArgs {
  IngestArgs ingest;
  std::string roots_from;  // a file listing folders, one per line (the systemd unit's watch.list)
  double debounce = 5, max_wait = 60, retry = 10, keep_model = 600;
};

#ifdef XSEARCH_FULL
// The folders listed in `file`, one per line; blank lines and lines starting with # are skipped, a
// leading ~/ is $HOME.
std::vector<std::string> read_roots_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Error(file + ": cannot read the list of folders to watch");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.compare(0, 2, "~/") == 0) {
      const char* home = std::getenv("HOME");
      if (!home || !*home) throw Error(file + ": " + line + ": $HOME is not set");
      line = std::string(home) + line.substr(1);
    }
    out.push_back(line);
  }
  if (out.empty()) throw Error(file + ": lists no folder to watch");
  return out;
}

// One line per pass for --json: what it ingested and what became of it.
void print_pass_json(const WatchPass& p) {
  nlohmann::ordered_json line = {{"pass", p.catch_up ? "catch-up" : "changes"}, {"roots", p.roots}};
  add_ingest_counts(line, p.report);
  line["excluded"] = p.report.excluded_videos;
  line["interrupted"] = p.report.interrupted != 0;
  line["seconds"] = p.report.seconds;
  line["failures"] = path_errors_json(p.report.failures);
  write_stdout(line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  flush_stdout();
}

int run_watch(WatchArgs w) {
  if (!w.roots_from.empty())
    for (auto& p : read_roots_file(w.roots_from)) w.ingest.paths.push_back(std::move(p));
  if (w.ingest.paths.empty()) throw Error("watch: no folder given (FOLDER... or --roots-from FILE)");
  const IngestArgs& a = w.ingest;
  lower_priority(a.normal_priority);
  for (const auto& p : a.paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) throw Error(p + ": watch takes folders (ingest takes single files)");
  }
  WatchOptions o;
  for (const auto& p : a.paths) o.ingest.roots.emplace_back(p);
  check_ingest_roots(o.ingest.roots, resolve_db(a.db));  // a mistyped folder fails before a model is loaded
  o.ingest = ingest_options(a);
  o.debounce_seconds = w.debounce;
  o.max_wait_seconds = std::max(w.max_wait, w.debounce);
  o.retry_seconds = w.retry;
  o.keep_model_seconds = w.keep_model;
  install_stop_handlers();
  o.ingest.stop_requested = [] { return stop_signal(); };
  const bool show_progress = stderr_is_terminal() && !a.quiet && !a.json;
  ProgressLine progress(show_progress);
  WatchObserver observer;
  observer.ingest.on_error = [&](const std::string& message) {
    progress.clear();
    fmt::print(stderr, "xsearch: {}\n", message);
  };
  observer.ingest.on_warning = [&](const std::string& message) {
    if (a.quiet) return;
    progress.clear();
    fmt::print(stderr, "xsearch: warning: {}\n", message);
  };
  observer.ingest.on_progress = [&](const IngestProgress& p) {
    set_progress_on_terminal(show_progress);
    progress.update(p);
  };
  observer.on_note = [&](const std::string& message) {
    if (a.quiet) return;
    progress.clear();
    fmt::print(stderr, "xsearch: watch: {}\n", message);
  };
  observer.on_pass = [&](const WatchPass& p) {
    progress.clear();
    set_progress_on_terminal(false);
    try {
      if (a.json) return print_pass_json(p);
      if (a.quiet) return;
      std::string roots;
      for (const auto& r : p.roots) roots += (roots.empty() ? "" : ", ") + r;
      write_stdout(fmt::format("{} ({}):\n", p.catch_up ? "caught up" : "changes", roots));
      print_summary(p.report, a);
      flush_stdout();
    } catch (const BrokenPipe&) {
      // The reader has gone; the watch goes on (its passes are in the library's runs).
    }
  };
  const int sig = watch(o, observer);
  progress.clear();
  if (!a.quiet) fmt::print(stderr, "xsearch: watch: stopped ({}); what was committed is kept\n", sig == 2 ? "SIGINT" : sig == 15 ? "SIGTERM" : "signal");
  // Asked to stop: a clean end (status 0, for a service manager too). Everything is committed and closed;
  // static destructors (LibTorch's) would only add to the 2 s a stop may take.
  try {
    flush_stdout();
  } catch (const BrokenPipe&) {
  }
  std::fflush(stderr);
  std::_Exit(0);
}
#endif

}  // namespace

void add_watch_command(CLI::App& app, Runner& run) {
  auto w = std::make_shared<WatchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "Keep the library current: ingest what changes under folders (inotify), after catching up at the start");
  cmd->add_option("paths", w->ingest.paths, "Folders to watch");
  cmd->add_option("--roots-from", w->roots_from, "Also watch the folders listed in FILE, one per line (# comments, ~/ for $HOME)")
      ->type_name("FILE");
  add_ingest_settings(cmd, w->ingest);
  cmd->add_option("--debounce", w->debounce, "Seconds without changes before a pass ingests them (a burst is one pass)")
      ->capture_default_str();
  cmd->add_option("--max-wait", w->max_wait, "Under changes that never pause, seconds after which a pass runs anyway")
      ->capture_default_str();
  cmd->add_option("--retry", w->retry, "Seconds between tries while another xsearch is writing the library")->capture_default_str();
  cmd->add_option("--keep-model", w->keep_model,
                  "Seconds without a pass after which the model's memory is let go (the next pass loads it again; 0: after every pass)")
      ->capture_default_str();
  cmd->add_flag("--json", w->ingest.json, "One JSON line per pass on stdout");
  cmd->callback([w, &run] {
    check_ingest_settings(w->ingest);
    require_at_least("--debounce", w->debounce, 0.0);
    require_at_least("--max-wait", w->max_wait, 0.0);
    require_above("--retry", w->retry, 0.0);
    require_at_least("--keep-model", w->keep_model, 0.0);
    if (w->ingest.paths.empty() && w->roots_from.empty()) throw CLI::ValidationError("watch: give folders, or --roots-from FILE");
    run = [w] { return XSEARCH_FULL_ONLY(run_watch(*w)); };
  });
}

}  // namespace xsearch::cli
