// `xsearch model pull [ID]` and `xsearch model list`: models in the Hugging Face cache.
#include <fmt/core.h>

#include <chrono>
#include <iostream>

#include "cli/arg_checks.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "xsearch/checkpoint.hpp"
#include "xsearch/hub.hpp"
#include "xsearch/library.hpp"

namespace xsearch::cli {

namespace {

struct ModelArgs {
  std::string db;
  std::string id = kDefaultModelId;
  std::string revision = "main";
  double lock_timeout = PullOptions().lock_timeout_seconds;
  bool quiet = false, json = false;
};

std::filesystem::path pull_with_progress(PullOptions o, bool quiet) {
  const bool bar = stderr_is_terminal() && !quiet;
  auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  o.on_progress = [&](const PullProgress& p) {
    if (!bar) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(100) && p.done < p.total) return;
    last = now;
    const double frac = p.total > 0 ? static_cast<double>(p.done) / p.total : 0;
    const int filled = static_cast<int>(frac * 24);
    const double eta = p.bytes_per_second > 0 && p.total > 0 ? (p.total - p.done) / p.bytes_per_second : -1;
    fmt::print(stderr, "\r\033[K{} [{}{}] {:.1f}/{:.1f} MB  {:.1f} MB/s  ETA {}", p.file, std::string(filled, '#'),
               std::string(24 - filled, '-'), p.done / 1e6, p.total / 1e6, p.bytes_per_second / 1e6,
               eta >= 0 ? fmt::format("{}s", static_cast<long>(eta)) : "--");
  };
  o.on_message = [&](const std::string& m) {
    if (bar) fmt::print(stderr, "\r\033[K");
    if (!quiet) fmt::print(stderr, "{}\n", m);
  };
  // Waiting on another process's lock is said even with --quiet: a silent hang would look like a bug.
  o.on_wait = [&](const std::string& m) {
    if (bar) fmt::print(stderr, "\r\033[K");
    fmt::print(stderr, "{}\n", m);
  };
  return pull_model(o);
}

// The library's model as it records it (a hub id, or a folder's absolute path); "" when there is no
// library there yet, or it cannot be read (model list is about the cache: that is not its error).
std::string library_model(const std::string& db) {
  try {
    const std::filesystem::path path = resolve_db(db);
    std::error_code ec;
    if (!is_shared_library(path.string()) && !std::filesystem::exists(path, ec)) return "";
    const auto m = Library::open(path, false).model();
    return m ? m->name : "";
  } catch (const Error&) {
    return "";
  }
}

// A model folder as `model list` shows it: complete when it has what the hub snapshots must have.
CachedModel folder_model(const std::string& dir) {
  CachedModel m;
  m.id = dir;
  m.dir = dir;
  auto has = [&](const char* name) {
    std::error_code ec;
    return std::filesystem::exists(std::filesystem::path(dir) / name, ec);
  };
  m.complete = has("config.json") && (has("model.safetensors") || has("pytorch_model.bin")) && has("vocab.json") && has("merges.txt");
  return m;
}

int list_models(const ModelArgs& a) {
  std::vector<CachedModel> models = list_cached_models();
  // A library built with a model folder (--model ./m) names it: without this line `model list` printed
  // nothing for the model the library uses.
  const std::string own = library_model(a.db);
  std::error_code ec;
  const bool own_is_folder = !own.empty() && own.front() == '/';
  if (own_is_folder) models.push_back(folder_model(own));
  if (models.empty()) {
    fmt::print(stderr, "xsearch: no models in {} (`xsearch model pull` downloads {})\n", hf_hub_cache().string(), kDefaultModelId);
    if (a.json) write_json(nlohmann::ordered_json::array());
    return 1;
  }
  auto is_own = [&](const CachedModel& m) { return !own.empty() && m.id == own; };
  if (a.json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& m : models) {
      const ModelSummary s = summarize_model(m.dir);
      j.push_back({{"id", m.id}, {"revision", m.revision}, {"path", m.dir.string()}, {"bytes", s.bytes},
                   {"complete", m.complete}, {"ready", m.complete && s.ready}, {"weights", s.weights},
                   {"weights_path", s.weights_file.string()}, {"patch_size", s.patch_size},
                   {"num_frames", s.num_frames}, {"image_size", s.image_size}, {"prompt_layers", s.prompt_layers},
                   {"folder", own_is_folder && is_own(m)}, {"library", is_own(m)}});
    }
    write_json(j);
    return 0;
  }
  for (const auto& m : models) {
    const ModelSummary s = summarize_model(m.dir);
    const bool missing = !std::filesystem::exists(m.dir, ec);
    const std::string state = missing        ? "missing"
                              : !m.complete  ? "incomplete"
                              : s.ready      ? (s.weights == "converted" ? "ready (converted from .bin)" : "ready")
                              : s.weights == "pytorch_model.bin" ? "ready after conversion (on first use)"
                                                                 : "broken: " + s.error;
    const std::string geometry = s.error.empty() || s.patch_size > 0
                                     ? fmt::format("patch {}, {} frames, {} px, {} prompt layers", s.patch_size, s.num_frames,
                                                   s.image_size, s.prompt_layers)
                                     : "config.json unreadable";
    const std::string mark = !is_own(m) ? "" : own_is_folder ? "  (the library's model, a folder)" : "  (the library's model)";
    write_stdout(fmt::format("{}  {}  {}  {:.1f} MB  {}{}\n", m.id, state, geometry, s.bytes / 1e6, m.dir.string(), mark));
  }
  return 0;
}

}  // namespace

std::filesystem::path pull_with_progress(const std::string& id, bool quiet) {
  PullOptions o;
  o.id = id;
  return pull_with_progress(o, quiet);
}

void add_model_commands(CLI::App& app, Runner& run) {
  CLI::App* model = app.add_subcommand("model", "Models in the Hugging Face cache ($HF_HOME/hub, else ~/.cache/huggingface/hub)");
  model->require_subcommand(1);
  auto a = std::make_shared<ModelArgs>();
  CLI::App* pull = model->add_subcommand("pull", "Download a model from the hub (resumable, verified)");
  pull->add_option("id", a->id, "Hub id (default: microsoft/xclip-base-patch32)");
  pull->add_option("--revision", a->revision, "Branch, tag or commit sha (default: main)");
  pull->add_option("--lock-timeout", a->lock_timeout,
                   "Seconds to wait while another process (e.g. Python's huggingface_hub) downloads the same file");
  pull->add_flag("-q,--quiet", a->quiet, "No progress");
  pull->callback([a, &run] {
    require_at_least("--lock-timeout", a->lock_timeout, 0.0);
    run = [a] {
      PullOptions o;
      o.id = a->id;
      o.revision = a->revision;
      o.lock_timeout_seconds = a->lock_timeout;
      const auto dir = pull_with_progress(o, a->quiet);
      write_stdout(dir.string() + "\n");
      return 0;
    };
  });
  auto l = std::make_shared<ModelArgs>();
  CLI::App* list = model->add_subcommand("list", "Show the models in the cache, and the library's model when it is a folder");
  list->add_flag("--json", l->json, "Print JSON");
  add_db_option(list, l->db);
  list->callback([l, &run] { run = [l] { return list_models(*l); }; });
}

}  // namespace xsearch::cli
