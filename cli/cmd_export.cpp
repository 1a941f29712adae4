// `xsearch export`: every clip of the library, or a query's hits as lines, JSON, CSV or an EDL, or cut
// into files (--clips DIR, FFmpeg: handed to xsearch-media), or the clip vectors for other tools (--embeddings DIR).
#include <fmt/core.h>

#include <filesystem>

#include "cli/arg_checks.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/full_exec.hpp"
#include "cli/query_run.hpp"
#include "cli/shell_quote.hpp"
#include "cli/status_line.hpp"
#include "media/clip_lists.hpp"
#include "pipeline/path_filter.hpp"
#include "xsearch/embeddings_export.hpp"
#ifdef XSEARCH_MEDIA
#include "media/export_hits.hpp"
#endif
#include "xsearch/pipeline.hpp"

namespace xsearch::cli {

namespace {

constexpr int kMaxExported = 10000;  // -k for export --query

struct ExportArgs {
  std::string db, query, model, clips, glob, embeddings;
  int k = 100;
  double min_score = -1e9, max_segment = 0;
  bool json = false, exact = false, csv = false, edl = false, quiet = false;
};

QueryArgs query_args(const ExportArgs& a) {
  QueryArgs q;
  q.text = a.query;
  q.db = a.db;
  q.model = a.model;
  q.k = a.k;
  q.glob = a.glob;
  q.min_score = a.min_score;
  q.max_segment = a.max_segment;
  q.json = a.json;
  return q;
}

// The query's hits, warnings said; an empty result says why on stderr.
QueryResult run_export_query(const ExportArgs& a) {
  const QueryResult r = query(options_from(query_args(a)));
  for (const auto& w : r.warnings) fmt::print(stderr, "xsearch: warning: {}\n", w);
  say_no_results(r);
  return r;
}

// export --query TEXT --clips DIR: the hits cut into files, with clips.csv and clips.edl (FFmpeg).
int run_export_clips(const ExportArgs& a) {
#ifndef XSEARCH_MEDIA
  (void)a;
  exec_media();
#else
  const QueryResult r = run_export_query(a);
  if (r.results.empty()) {
    if (a.json) write_json({{"query", r.query}, {"model", r.model}, {"clips", nlohmann::ordered_json::array()}});
    return 1;
  }
  media::ExportOptions o;
  o.dir = std::filesystem::absolute(a.clips).lexically_normal();
  o.exact = a.exact;
  // Cutting takes seconds a clip with --exact: say where it is, on a terminal only.
  StatusLine status(stderr_is_terminal() && !a.quiet && !a.json);
  o.on_start = [&](std::size_t done, std::size_t total, const QueryHit& hit) {
    status.show(fmt::format("cutting {}/{}{}: {} {}-{}", done + 1, total, a.exact ? " (exact)" : "",
                            std::filesystem::path(hit.path).filename().string(), format_time(hit.start), format_time(hit.end)));
  };
  bool failed = false;
  std::size_t removed = 0;
  const auto files = media::export_hits(
      r.results, "xsearch: " + a.query, o,
      [&](const media::ExportedFile& f) {
        status.clear();
        if (!f.error.empty()) {
          fmt::print(stderr, "xsearch: {}\n", f.error);
          failed = true;
        } else if (!a.json) {
          write_stdout(fmt::format("{}\n", shell_quote(f.file)));
        }
      },
      &removed);
  status.clear();
  const std::string csv = (o.dir / "clips.csv").string();
  const std::string edl = (o.dir / "clips.edl").string();
  if (a.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& f : files)
      list.push_back({{"rank", f.rank}, {"path", f.source}, {"start", f.start}, {"end", f.end}, {"score", f.score},
                      {"file", f.error.empty() ? nlohmann::ordered_json(f.file) : nullptr}, {"file_start", f.file_start}, {"file_end", f.file_end},
                      {"mode", f.mode}, {"error", f.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(f.error)}});
    write_json({{"query", r.query}, {"model", r.model}, {"clips", list}, {"csv", csv}, {"edl", edl}, {"removed", removed}});
  } else if (!a.quiet) {
    fmt::print(stderr, "xsearch: lists in {} and {}\n", csv, edl);
    if (removed > 0) fmt::print(stderr, "xsearch: removed {} clip file{} of the previous export there\n", removed, removed == 1 ? "" : "s");
  }
  return failed ? 2 : 0;
#endif
}

// export --query TEXT --csv | --edl: the hits on their source files, no cutting (no FFmpeg needed).
int run_export_list(const ExportArgs& a) {
  const QueryResult r = run_export_query(a);
  const Library library = Library::open(resolve_db(a.db), false);
  std::vector<media::ListedHit> hits;
  for (const auto& h : r.results) {
    media::ListedHit l{h.rank, h.score, h.path, h.start, h.end, h.peak, h.peak_score, 0};
    if (const auto v = library.find_video(h.path)) l.fps = v->fps;
    hits.push_back(l);
  }
  write_stdout(a.csv ? media::hits_csv(hits) : media::hits_edl("xsearch: " + a.query, hits));
  return r.results.empty() ? 1 : 0;
}

// export --embeddings DIR: embeddings.npy, clips.csv, index.faiss, meta.json and README.txt.
int run_export_embeddings(const ExportArgs& a) {
  EmbeddingsExportOptions o;
  o.dir = a.embeddings;
  if (!a.glob.empty()) {
    const auto filter = std::make_shared<pipeline::PathFilter>(a.glob);
    o.keep = [filter](const std::string& path) { return filter->matches(path); };
  }
  const EmbeddingsExport e = export_embeddings(resolve_db(a.db), o);
  if (a.json) {
    nlohmann::ordered_json j = {{"dir", e.dir.string()}, {"clips", e.clips}, {"dim", e.dim}, {"model", e.model},
                                {"l2_normalised", e.normalised}, {"max_norm_error", e.max_norm_error}, {"index", e.index_kind}};
    if (e.nlist > 0) j["nlist"] = e.nlist, j["nprobe"] = e.nprobe;
    j["replaced"] = e.replaced;
    j["files"] = {"embeddings.npy", "clips.csv", "index.faiss", "meta.json", "README.txt"};
    write_json(j);
  } else if (!a.quiet) {
    fmt::print(stderr, "xsearch: {} clip{} of {} dimensions ({}) in {}: embeddings.npy, clips.csv, index.faiss ({}), meta.json, README.txt{}\n",
               e.clips, e.clips == 1 ? "" : "s", e.dim, e.model, e.dir.string(), e.index_kind, e.replaced ? " (the earlier export there replaced)" : "");
    if (!e.normalised) fmt::print(stderr, "xsearch: warning: some vectors are not of unit length (largest |norm - 1|: {:.3g})\n", e.max_norm_error);
  }
  return 0;
}

int run_export(const ExportArgs& a) {
  if (!a.embeddings.empty()) return run_export_embeddings(a);
  if (!a.clips.empty()) return run_export_clips(a);
  if (a.csv || a.edl) return run_export_list(a);
  if (!a.query.empty()) return run_query(query_args(a));
  std::string why;
  const auto clips = export_clips(resolve_db(a.db), a.glob, &why);
  if (clips.empty()) fmt::print(stderr, "xsearch: no clips: {}\n", why);
  if (a.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& c : clips) list.push_back({{"clip_id", c.clip_id}, {"video_id", c.video_id}, {"path", c.path}, {"start", c.start}, {"end", c.end}});
    write_json({{"clips", list}});
  } else {
    // Tab-separated: the path as it is (a tab or newline in a name is the one thing this cannot carry).
    for (const auto& c : clips) write_stdout(fmt::format("{}\t{:.3f}\t{:.3f}\n", c.path, c.start, c.end));
  }
  return clips.empty() ? 1 : 0;
}

}  // namespace

void add_export_command(CLI::App& app, Runner& run) {
  auto e = std::make_shared<ExportArgs>();
  CLI::App* ex = app.add_subcommand("export", "Export every clip of the library, or a query's hits (lines, JSON, CSV, EDL or cut files)");
  add_db_option(ex, e->db);
  ex->add_option("--query", e->query, "Export this query's hits instead of every clip");
  ex->add_option("-k,--limit", e->k, fmt::format("Hits to export with --query, 1 to {}", kMaxExported));
  ex->add_option("--path", e->glob, "Only videos whose absolute path matches this glob; a pattern without * ? [ matches anywhere in the path");
  ex->add_option("--min-score", e->min_score, "With --query: drop hits below this cosine similarity")->default_str("none")->check(finite_number());
  ex->add_option("--max-segment", e->max_segment, "With --query: longest segment in seconds (0: three clip lengths)");
  ex->add_flag("--csv", e->csv, "With --query: print the hits as CSV (rank,score,source,start,end,peak,peak_score)");
  ex->add_flag("--edl", e->edl, "With --query: print the hits as a CMX3600 EDL on their source files");
  ex->add_option("--clips", e->clips,
                 "With --query: cut each hit into a file in this folder, with clips.csv and clips.edl (an earlier export's files there are replaced)");
  ex->add_option("--embeddings", e->embeddings,
                 "Write every clip's vector to this folder for other tools: embeddings.npy, clips.csv, index.faiss (FAISS), meta.json, "
                 "README.txt (a new or empty folder, or an earlier such export, which is replaced whole)");
  ex->add_flag("--exact", e->exact, "With --clips: re-encode frame-accurately (default: stream copy from the keyframe before)");
  ex->add_option("--model", e->model, "Model: a folder or a hub id (default: $XSEARCH_MODEL, else the library's)");
  ex->add_flag("--json", e->json, "JSON instead of tab-separated lines");
  ex->add_flag("-q,--quiet", e->quiet, "No progress or summary on stderr (errors still)");
  ex->callback([e, &run] {
    require_between("-k", e->k, 1, kMaxExported);
    require_at_least("--max-segment", e->max_segment, 0.0);
    const bool has_query = !e->query.empty();
    if (!has_query) {
      for (const auto& [set, name] : {std::make_pair(!e->clips.empty(), "--clips"), std::make_pair(e->csv, "--csv"), std::make_pair(e->edl, "--edl"),
                                      std::make_pair(e->min_score > -1e9, "--min-score")})
        if (set) throw CLI::ValidationError(std::string(name) + " goes with --query TEXT");
    }
    if (!e->embeddings.empty()) {
      for (const auto& [set, name] : {std::make_pair(has_query, "--query"), std::make_pair(!e->clips.empty(), "--clips"), std::make_pair(e->csv, "--csv"),
                                      std::make_pair(e->edl, "--edl"), std::make_pair(e->exact, "--exact"), std::make_pair(!e->model.empty(), "--model")})
        if (set) throw CLI::ValidationError(std::string("--embeddings exports the stored vectors: leave out ") + name);
    }
    if (e->exact && e->clips.empty()) throw CLI::ValidationError("--exact goes with --clips DIR");
    if (e->csv + e->edl + e->json > 1) throw CLI::ValidationError("--csv, --edl and --json: choose one");
    if ((e->csv || e->edl) && !e->clips.empty()) throw CLI::ValidationError("--clips writes clips.csv and clips.edl itself: leave out --csv and --edl");
    run = [e] { return run_export(*e); };
  });
}

}  // namespace xsearch::cli
