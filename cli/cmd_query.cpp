// `xsearch query TEXT` and `xsearch export`: ranked clips for a text or a clip, every clip of the library.
#include <fmt/core.h>

#include <chrono>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/full_exec.hpp"
#include "cli/player.hpp"
#include "cli/thumbnails.hpp"
#ifdef XSEARCH_MEDIA
#include "media/export_hits.hpp"
#endif
#include "xsearch/pipeline.hpp"

namespace xsearch::cli {

namespace {

struct QueryArgs {
  std::string text, db, model, device = "auto", glob, like;
  int k = 10, threads = 0, open = 0;  // open: the hit to play (1-based), 0 for none
  double min_score = -1e9;
  bool json = false, rerank = false, timings = false, no_thumbnails = false;
};

// `thumbnails`: each hit's thumbnail file, or "" (null) where there is none.
nlohmann::ordered_json result_json(const QueryResult& r, const std::vector<std::string>& thumbnails) {
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const auto& h = r.results[i];
    nlohmann::ordered_json hit = {{"rank", h.rank}, {"path", h.path}, {"start", h.start}, {"end", h.end}, {"score", h.score},
                                  {"clip_ids", h.clip_ids}, {"offline", h.offline}, {"video_id", h.video_id}};
    hit["thumbnail"] = i < thumbnails.size() && !thumbnails[i].empty() ? nlohmann::ordered_json(thumbnails[i]) : nullptr;
    results.push_back(hit);
  }
  return {{"query", r.query}, {"model", r.model}, {"reranked", r.reranked}, {"results", results}};
}

QueryOptions options_from(const QueryArgs& a) {
  QueryOptions o;
  o.text = a.text;
  o.like = a.like;
  o.db = resolve_db(a.db);
  if (const std::string m = resolve_model(a.model); !m.empty()) o.model_dir = resolve_model_dir(m);
  o.device = a.device;
  o.k = a.k;
  o.min_score = a.min_score;
  o.path_glob = a.glob;
  o.rerank = a.rerank;
#ifdef XSEARCH_FULL
  if (a.rerank) o.reranker = exact_reranker();
#endif
  o.threads = a.threads;
  return o;
}

// --open N: hit N in the user's player at its segment; says which player on stderr.
void play_hit(const QueryResult& r, int n) {
  if (n > static_cast<int>(r.results.size()))
    throw Error("--open " + std::to_string(n) + ": there " + (r.results.size() == 1 ? "is 1 result" : "are " + std::to_string(r.results.size()) + " results"));
  const QueryHit& hit = r.results[static_cast<std::size_t>(n - 1)];
  if (hit.offline) throw Error(hit.path + ": not there now (offline)");
  const char* override = std::getenv("XSEARCH_PLAYER");
  const char* path_env = std::getenv("PATH");
  const PlayerChoice player = find_player(override ? override : "", path_env ? path_env : "");
  const std::string name = std::filesystem::path(player.program).filename().string();
  const std::string at = player.kind == "opener" || player.kind == "other"
                             ? " (from the beginning: it cannot start at " + format_time(hit.start) + ")"
                             : " at " + format_time(hit.start) + "-" + format_time(hit.end);
  fmt::print(stderr, "xsearch: playing hit {} with {}: {}{}\n", n, name, hit.path, at);
  flush_stdout();
  const int status = run_player(player_command(player, hit.path, hit.start, hit.end));
  if (status != 0) fmt::print(stderr, "xsearch: warning: {} ended with status {}\n", name, status);
}

int run_query(const QueryArgs& a) {
#ifndef XSEARCH_FULL
  if (a.rerank) exec_full();  // the exact score needs LibTorch
#endif
  const auto start = std::chrono::steady_clock::now();
  const QueryResult r = query(options_from(a));
  for (const auto& w : r.warnings) fmt::print(stderr, "xsearch: warning: {}\n", w);
  if (a.timings) {
    for (const auto& [name, secs] : r.timings) fmt::print(stderr, "{:>16}: {:7.1f} ms\n", name, secs * 1e3);
    fmt::print(stderr, "{:>16}: {:7.1f} ms\n", "total in query()",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3);
  }
  if (a.json) {
    write_json(result_json(r, hit_thumbnails(resolve_db(a.db), r.results, !a.no_thumbnails)));
  } else {
    for (const auto& h : r.results)
      write_stdout(fmt::format("{:>3}  {:.4f}  {}  {}-{}{}\n", h.rank, h.score, h.path, format_time(h.start), format_time(h.end),
                               h.offline ? "  (offline)" : ""));
  }
  if (a.open > 0 && !r.results.empty()) play_hit(r, a.open);
  return r.results.empty() ? 1 : 0;
}

struct ExportArgs {
  std::string db, query, model, clips;
  int k = 100;
  bool json = false, exact = false;
};

// export --query TEXT --clips DIR: the hits cut into files, with clips.csv and clips.edl (FFmpeg).
int run_export_clips(const ExportArgs& a) {
#ifndef XSEARCH_MEDIA
  (void)a;
  exec_media();
#else
  QueryArgs q;
  q.text = a.query;
  q.db = a.db;
  q.model = a.model;
  q.k = a.k;
  const QueryResult r = query(options_from(q));
  for (const auto& w : r.warnings) fmt::print(stderr, "xsearch: warning: {}\n", w);
  if (r.results.empty()) {
    if (a.json) write_json({{"query", r.query}, {"model", r.model}, {"clips", nlohmann::ordered_json::array()}});
    return 1;
  }
  media::ExportOptions o;
  o.dir = std::filesystem::absolute(a.clips);
  o.exact = a.exact;
  bool failed = false;
  const auto files = media::export_hits(r.results, "xsearch: " + a.query, o, [&](const media::ExportedFile& f) {
    if (!f.error.empty()) {
      fmt::print(stderr, "xsearch: {}\n", f.error);
      failed = true;
    } else if (!a.json) {
      write_stdout(fmt::format("{}\n", f.file));
    }
  });
  const std::string csv = (o.dir / "clips.csv").string();
  const std::string edl = (o.dir / "clips.edl").string();
  if (a.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& f : files)
      list.push_back({{"rank", f.rank}, {"path", f.source}, {"start", f.start}, {"end", f.end}, {"score", f.score},
                      {"file", f.error.empty() ? nlohmann::ordered_json(f.file) : nullptr}, {"file_start", f.file_start}, {"file_end", f.file_end},
                      {"mode", f.mode}, {"error", f.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(f.error)}});
    write_json({{"query", r.query}, {"model", r.model}, {"clips", list}, {"csv", csv}, {"edl", edl}});
  } else {
    fmt::print(stderr, "xsearch: lists in {} and {}\n", csv, edl);
  }
  return failed ? 2 : 0;
#endif
}

int run_export(const ExportArgs& a) {
  if (!a.clips.empty()) {
    if (a.query.empty()) throw Error("export --clips needs --query TEXT");
    return run_export_clips(a);
  }
  if (a.exact) throw Error("export --exact goes with --clips DIR");
  if (!a.query.empty()) {
    QueryArgs q;
    q.text = a.query;
    q.db = a.db;
    q.model = a.model;
    q.k = a.k;
    q.json = a.json;
    return run_query(q);
  }
  const auto clips = export_clips(resolve_db(a.db));
  if (a.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& c : clips) list.push_back({{"clip_id", c.clip_id}, {"video_id", c.video_id}, {"path", c.path}, {"start", c.start}, {"end", c.end}});
    write_json({{"clips", list}});
  } else {
    for (const auto& c : clips) write_stdout(fmt::format("{}\t{:.3f}\t{:.3f}\n", c.path, c.start, c.end));
  }
  return clips.empty() ? 1 : 0;
}

}  // namespace

void add_query_commands(CLI::App& app, Runner& run) {
  auto a = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("query", "Find the clips that match a text (or, with --like, a clip)");
  cmd->add_option("text", a->text, "What to look for, in plain language");
  add_db_option(cmd, a->db);
  cmd->add_option("-k", a->k, "Number of results")->check(CLI::PositiveNumber);
  cmd->add_option("--min-score", a->min_score, "Drop results below this cosine similarity");
  cmd->add_option("--path", a->glob, "Only videos whose absolute path matches this glob");
  cmd->add_option("--like", a->like, "PATH@SECONDS: clips similar to that clip of that video");
  cmd->add_flag("--rerank", a->rerank, "Re-score the top candidates with X-CLIP's exact, video-prompted score");
  cmd->add_option("--model", a->model, "Model folder (default: the library's)");
  cmd->add_option("--device", a->device, "auto, cpu, cuda or cuda:N")
      ->envname("XSEARCH_DEVICE");
  cmd->add_option("--threads", a->threads, "Model threads (default: all cores)");
  cmd->add_flag("--json", a->json, "Print JSON (schema in README.md), with each hit's thumbnail file (made when missing)");
  cmd->add_flag("--no-thumbnails", a->no_thumbnails, "With --json: do not make missing thumbnails (their \"thumbnail\" is null)");
  cmd->add_flag("--timings", a->timings, "Print how long each step took (stderr)");
  cmd->add_option("--open", a->open, "Play hit N (default 1) at its segment in mpv, VLC or ffplay (else xdg-open); $XSEARCH_PLAYER picks one")
      ->expected(0, 1)
      ->default_str("1")
      ->check(CLI::PositiveNumber);
  cmd->callback([a, &run] { run = [a] { return run_query(*a); }; });

  auto e = std::make_shared<ExportArgs>();
  CLI::App* ex = app.add_subcommand("export", "Export every clip of the library, or a query's hits");
  add_db_option(ex, e->db);
  ex->add_option("--query", e->query, "Export this query's hits instead of every clip");
  ex->add_option("-k,--limit", e->k, "Hits to export with --query (default 100)")->check(CLI::PositiveNumber);
  ex->add_option("--clips", e->clips, "With --query: cut each hit into a file in this folder, with clips.csv and clips.edl");
  ex->add_flag("--exact", e->exact, "With --clips: re-encode frame-accurately (default: stream copy from the keyframe before)");
  ex->add_option("--model", e->model, "Model folder (default: the library's)");
  ex->add_flag("--json", e->json, "JSON instead of tab-separated lines");
  ex->callback([e, &run] { run = [e] { return run_export(*e); }; });
}

}  // namespace xsearch::cli
