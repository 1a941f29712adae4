// `xsearch ingest PATH...`: index the videos under folders (incremental), with progress and a summary.
#include <fmt/core.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/arg_checks.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/full_exec.hpp"
#include "cli/ingest_setup.hpp"
#include "cli/progress.hpp"
#include "pipeline/ingest/exclusions.hpp"
#include "xsearch/error.hpp"
#include "xsearch/hub.hpp"
#include "xsearch/ingest.hpp"
#include "xsearch/model_resolution.hpp"

namespace xsearch::cli {

namespace {

// Exit statuses of ingest beyond 0 and 2 (README, "Exit status").
constexpr int kFileProblems = 3;

}  // namespace

#ifdef XSEARCH_FULL
// SIGINT/SIGTERM: the first asks the run to stop (it polls between batches and videos, finishing what is
// committed); a second one ends the process at once. Only async-signal-safe calls in the handler.
static std::atomic<int> g_stop_signal{0};
static std::atomic<bool> g_progress_on_terminal{false};

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal.load() != 0) {
    if (g_progress_on_terminal.load()) (void)!::write(STDERR_FILENO, "\r\033[K", 4);
    ::_exit(128 + sig);
  }
  g_stop_signal.store(sig);
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int stop_signal() { return g_stop_signal.load(); }
void set_progress_on_terminal(bool on) { g_progress_on_terminal = on; }

// A model folder is recorded as an absolute path (a query may run from anywhere); a hub id as it is.
static std::string recorded_model_name(const std::string& spec) {
  std::error_code ec;
  if (spec.empty() || !std::filesystem::is_directory(spec, ec)) return spec;
  return std::filesystem::absolute(spec).lexically_normal().string();
}
#endif

#ifdef XSEARCH_FULL
void add_ingest_counts(nlohmann::ordered_json& out, const IngestReport& r) {
  const RunSummary& s = r.summary;
  out["indexed"] = s.indexed;
  out["clips"] = s.clips;
  out["unchanged"] = s.unchanged;
  out["moved"] = s.moved;
  out["removed"] = s.removed;
  out["failed"] = s.failed;
  out["partial"] = r.partials.size();
  out["offline"] = r.offline_videos;
  out["not_video"] = s.not_video;
}

nlohmann::ordered_json path_errors_json(const std::vector<std::pair<std::string, std::string>>& list) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [path, cause] : list) out.push_back({{"path", path}, {"error", cause}});
  return out;
}

// The summary on stdout: JSON (--json) or lines for people (nothing with --quiet).
void print_summary(const IngestReport& r, const IngestArgs& a) {
  const RunSummary& s = r.summary;
  if (a.json) {
    nlohmann::ordered_json j = {{"db", r.db}, {"model", r.model}};
    add_ingest_counts(j, r);
    j["failed_unchanged"] = r.failed_unchanged.size();
    j["elsewhere"] = s.elsewhere;
    j["excluded"] = r.excluded_videos;
    j["failures"] = path_errors_json(r.failures);
    j["failures_unchanged"] = path_errors_json(r.failed_unchanged);
    j["not_videos"] = path_errors_json(r.not_videos);
    j["partials"] = path_errors_json(r.partials);
    j["offline_roots"] = path_errors_json(r.offline_roots);
    j["offline_pruned"] = r.offline_pruned && !r.offline_roots.empty();
    j["interrupted"] = r.interrupted != 0;
    j["seconds"] = r.seconds;
    j["clips_per_second"] = r.clips_per_second;
    j["device"] = r.device;
    j["dtype"] = r.dtype;
    j["batch"] = r.batch;
    j["decoders"] = r.decoders;
    j["frames_decoded"] = r.frames_decoded;
    j["decode_seconds"] = r.decode_seconds;
    j["model_seconds"] = r.model_seconds;
    j["model_clips_per_second"] = r.model_clips_per_second;
    j["backlog_waits"] = r.backlog_waits;
    write_json(j);
    return;
  }
  if (a.quiet) return;
  std::string line = fmt::format("indexed {} video{} ({} clips, {:.2f} clips/s), {} unchanged, {} moved, {} removed, {} failed",
                                 s.indexed, s.indexed == 1 ? "" : "s", s.clips, r.clips_per_second, s.unchanged, s.moved,
                                 s.removed, s.failed);
  if (!r.partials.empty()) line += fmt::format(", {} partial", r.partials.size());
  if (!r.failed_unchanged.empty())
    line += fmt::format(", {} failed before (unchanged, not retried)", r.failed_unchanged.size());
  if (s.not_video > 0) {
    // Named, a few of them: a silent skip looked like "0 failed" for a folder of notes or songs.
    std::string names;
    for (std::size_t i = 0; i < r.not_videos.size() && i < 3; ++i)
      names += (i ? ", " : "") + std::filesystem::path(r.not_videos[i].first).filename().string();
    if (r.not_videos.size() > 3) names += ", ...";
    line += fmt::format(", {} not video{} ({}{})", s.not_video, s.not_video == 1 ? "" : "s", names,
                        r.not_videos.size() > 3 ? "; --json lists them" : "");
  }
  const std::size_t places = r.offline_roots.size();
  if (places > 0 && r.offline_pruned)
    line += fmt::format(", pruned what was offline (under {} folder{})", places, places == 1 ? "" : "s");
  else if (places > 0)
    line += fmt::format(", {} offline (under {} folder{})", r.offline_videos, places, places == 1 ? "" : "s");
  if (r.excluded_videos > 0) line += fmt::format(", {} under an exclusion (kept)", r.excluded_videos);
  if (r.interrupted) line += ", interrupted";
  write_stdout(line + "\n");
  for (const auto& [root, pattern] : r.exclusions_added) write_stdout(fmt::format("  excluded from now on under {}: {}\n", root, pattern));
  for (const auto& [path, cause] : r.failures) write_stdout(fmt::format("  failed: {}: {}\n", path, cause));
  for (const auto& [path, cause] : r.failed_unchanged) write_stdout(fmt::format("  failed before: {}: {}\n", path, cause));
  for (const auto& [path, cause] : r.partials) {
    // The cause names itself ("partial: indexed up to ...", as stored and warned); the line's label says it once.
    const std::string label = "partial: ";
    write_stdout(fmt::format("  partial: {}: {}\n", path, cause.compare(0, label.size(), label) == 0 ? cause.substr(label.size()) : cause));
  }
  for (const auto& [path, cause] : r.offline_roots)
    write_stdout(fmt::format("  {}: {}: {}\n", r.offline_pruned ? "pruned (offline)" : "offline", path, cause));
}

// An ingest is background work: at nice +10 it takes the cores other programs leave, so that a query (or
// anything else) run meanwhile is not slowed down by the model's threads (README, "The library"). First
// thing, before any thread exists: Linux applies a nice value per thread, and new threads inherit it.
void lower_priority(bool normal_priority) {
  if (!normal_priority) (void)!::nice(10);  // best effort: where it may not, it runs as it is
}

IngestOptions ingest_options(const IngestArgs& a) {
  IngestOptions o;
  for (const auto& p : a.paths) o.roots.emplace_back(p);
  o.db = resolve_db(a.db);
  check_ingest_roots(o.roots, o.db);  // a mistyped path fails here, before a model is loaded or asked for
  o.model_name = recorded_model_name(resolve_model(a.model));
  if (o.model_name.empty()) {
    // The library remembers its model: later runs need no --model.
    // Only "no library yet" means a first run: a library that cannot be opened (damaged, unreadable) is
    // that error, not a reason to fetch the default model.
    if (auto m = Library::recorded_model(o.db)) o.model_name = m->name;
  }
  if (o.model_name.empty()) {
    // First run: the default model, downloaded once (asked on a terminal; --yes in scripts).
    o.model_name = kDefaultModelId;
    try {
      o.model_dir = resolve_model_dir(o.model_name);
    } catch (const Error&) {
      bool agreed = a.yes;
      if (!agreed && ::isatty(STDIN_FILENO) && stderr_is_terminal()) {
        fmt::print(stderr, "xsearch needs the model {} (about 790 MB) from the Hugging Face hub. Download it now? [y/N] ", o.model_name);
        std::string answer;
        std::getline(std::cin, answer);
        agreed = !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
      }
      if (!agreed)
        throw Error("no model: pass --model FOLDER|ID, run `xsearch model pull`, or add --yes to download " + o.model_name);
      pull_with_progress(o.model_name, a.quiet);
    }
  }
  o.model_dir = resolve_model_dir(o.model_name);
  o.device = a.device;
  o.dtype = a.dtype;
  o.window = a.window;
  o.stride = a.stride;
  o.batch = a.batch;
  o.threads = a.threads;
  o.decoders = a.decoders;
  o.include_hidden = a.hidden;
  o.store_prompts = a.store_prompts;
  o.prune_offline = a.prune_offline;
  o.exclude = a.exclude;
  o.wait_for_writer = !a.no_wait;
  return o;
}

namespace {

int run_ingest(const IngestArgs& a) {
  lower_priority(a.normal_priority);
  IngestOptions o = ingest_options(a);
  install_stop_handlers();
  o.stop_requested = [] { return g_stop_signal.load(); };
  const bool show_progress = stderr_is_terminal() && !a.quiet && !a.json;
  g_progress_on_terminal = show_progress;
  ProgressLine progress(show_progress);
  IngestObserver observer;
  observer.on_error = [&](const std::string& message) {
    progress.clear();
    fmt::print(stderr, "xsearch: {}\n", message);
  };
  observer.on_warning = [&](const std::string& message) {
    if (a.quiet) return;
    progress.clear();
    fmt::print(stderr, "xsearch: warning: {}\n", message);
  };
  observer.on_progress = [&](const IngestProgress& p) { progress.update(p); };
  const IngestReport r = ingest(o, observer);
  progress.clear();
  g_progress_on_terminal = false;
  // The status is the ingest's, whatever becomes of the summary: a reader that closed the pipe early
  // (`xsearch ingest ... | head -1`) must not turn "3: some files failed" or "130: interrupted" into 0.
  const int status = r.interrupted ? 128 + r.interrupted  // 130 for SIGINT, 143 for SIGTERM, as shells report a signal
                     : r.nothing_to_do() ? 2  // every root was missing or not a video: the command failed
                     : r.file_problems() ? kFileProblems
                                         : 0;
  if (r.interrupted) fmt::print(stderr, "xsearch: interrupted: what was committed is kept; run the same ingest again to finish\n");
  else if (r.nothing_to_do()) fmt::print(stderr, "xsearch: nothing to ingest: no root given is a folder or a video\n");
  try {
    print_summary(r, a);
  } catch (const BrokenPipe&) {
    // The reader has gone; the run itself is what the status reports.
  }
  if (r.interrupted) {
    // The user asked to stop: everything is committed and closed, the output flushed. Static destructors
    // (LibTorch's registries, thread pools) would add 0.1 s, and 0.5 s on busy cores, to the 2 s bound.
    flush_stdout();
    std::fflush(stderr);
    std::_Exit(status);
  }
  return status;
}

}  // namespace
#endif

void add_ingest_settings(CLI::App* cmd, IngestArgs& a) {
  add_db_option(cmd, a.db);
  cmd->add_option("--model", a.model, "Model: a folder or a hub id (default: $XSEARCH_MODEL, else the library's, else " +
                                          std::string(kDefaultModelId) + ")");
  cmd->add_option("--device", a.device, "auto, cpu, cuda or cuda:N")
      ->envname("XSEARCH_DEVICE");
  cmd->add_option("--dtype", a.dtype, "auto (float16 on CUDA, float32 on a CPU), float32, float16 or bfloat16")
      ->envname("XSEARCH_DTYPE");
  cmd->add_option("--window", a.window, "Clip length in seconds");
  cmd->add_option("--stride", a.stride, "Seconds between clip starts (0: the window)");
  cmd->add_option("--batch", a.batch, "Clips per model batch (0: 4 on a CPU, 32 on CUDA)");
  cmd->add_option("--threads", a.threads, "Model threads (0: all cores)");
  cmd->add_option("--decoders", a.decoders,
                  "Videos decoded at once, one per decoder thread; commits keep the folder's order (0: half the cores, "
                  "2 to 8, each with 2 x cores / N + 1 FFmpeg threads: opening, resizing and thumbnails run on a "
                  "decoder's own thread, so whole videos in parallel keep the cores busy)")
      ->envname("XSEARCH_DECODERS");
  cmd->add_flag("--hidden", a.hidden, "Also index hidden files and folders");
  cmd->add_option("--exclude", a.exclude,
                  "Skip what GLOB matches under each root, now and in every later ingest and watch of it (remembered in "
                  "the library; relative to the root: 'Holiday 2024/**', '**/*.tmp'; `xsearch exclude` lists and drops them)")
      ->type_name("GLOB");
  cmd->add_flag("--store-prompts", a.store_prompts,
                "Store each clip's prompt tokens for `query --rerank` (50 KB per clip for base-patch32)");
  cmd->add_flag("-y,--yes", a.yes, "Download the default model without asking when none is given");
  cmd->add_flag("-q,--quiet", a.quiet, "Print errors only");
  cmd->add_flag("--normal-priority", a.normal_priority,
                "Run at normal CPU priority (by default an ingest runs at nice +10, so that queries stay fast meanwhile)");
}

void check_ingest_settings(const IngestArgs& a) {
  require_above("--window", a.window, 0.0);
  require_at_least("--stride", a.stride, 0.0);
  require_at_least("--batch", a.batch, 0);
  require_at_least("--threads", a.threads, 0);
  require_at_least("--decoders", a.decoders, 0);
  // More decoders than this only hold more decoded videos in memory: each already runs FFmpeg's threads.
  if (a.decoders > 64) throw CLI::ValidationError(fmt::format("--decoders must be 64 or less (got {})", a.decoders));
  for (const auto& p : a.exclude) {
    try {
      (void)pipeline::normalize_exclude_pattern(p);
    } catch (const Error& e) {
      throw CLI::ValidationError(e.what());
    }
  }
}

void add_ingest_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<IngestArgs>();
  CLI::App* cmd = app.add_subcommand("ingest", "Index the videos under folders or files (incremental)");
  cmd->add_option("paths", a->paths, "Folders or video files")->required();
  add_ingest_settings(cmd, *a);
  cmd->add_flag("--prune-offline", a->prune_offline,
                "Remove the videos under roots that are offline (missing, unreadable or empty) instead of keeping them");
  cmd->add_flag("--json", a->json, "Print the summary as JSON");
  cmd->add_flag("--no-wait", a->no_wait, "Fail at once if another xsearch is writing the library");
  cmd->callback([a, &run] {
    check_ingest_settings(*a);
    run = [a] { return XSEARCH_FULL_ONLY(run_ingest(*a)); };
  });
}

}  // namespace xsearch::cli
