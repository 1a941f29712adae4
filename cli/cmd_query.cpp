// `xsearch query TEXT`: ranked segments for a text, an example (--like, --image, --video) or both,
// printed for people or scripts, optionally played (--open).
#include <fmt/core.h>

#include <chrono>
#include <filesystem>

#include "cli/arg_checks.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/full_exec.hpp"
#include "cli/hits_output.hpp"
#include "cli/player.hpp"
#include "cli/query_run.hpp"
#include "cli/thumbnails.hpp"
#include "xsearch/npy.hpp"
#include "xsearch/pipeline.hpp"

namespace xsearch::cli {

namespace {

// --open N: hit N in the user's player from its best moment to the segment's end; says which player on
// stderr.
void play_hit(const QueryResult& r, int n) {
  if (n > static_cast<int>(r.results.size()))
    throw Error("--open " + std::to_string(n) + ": there " + (r.results.size() == 1 ? "is 1 result" : "are " + std::to_string(r.results.size()) + " results"));
  const QueryHit& hit = r.results[static_cast<std::size_t>(n - 1)];
  if (hit.offline) throw Error(hit.path + ": not there now (offline)");
  const char* override = std::getenv("XSEARCH_PLAYER");
  const char* path_env = std::getenv("PATH");
  const PlayerChoice player = find_player(override ? override : "", path_env ? path_env : "");
  const std::string name = std::filesystem::path(player.program).filename().string();
  // The best moment, not the segment's start: a segment may hold a few windows before it.
  const double from = hit.peak_clip_id > 0 ? hit.peak : hit.start;
  std::string at = player.kind == "opener" || player.kind == "other"
                       ? " (from the beginning: it cannot start at " + format_time(from) + ")"
                       : " at " + format_time(from) + "-" + format_time(hit.end);
  if (from > hit.start + 1e-6 && player.kind != "opener" && player.kind != "other")
    at += " (its best moment; segment " + format_time(hit.start) + "-" + format_time(hit.end) + ")";
  fmt::print(stderr, "xsearch: playing hit {} with {}: {}{}\n", n, name, hit.path, at);
  flush_stdout();
  const int status = run_player(player_command(player, hit.path, from, hit.end));
  if (status != 0) fmt::print(stderr, "xsearch: warning: {} ended with status {}\n", name, status);
}

}  // namespace

QueryOptions options_from(const QueryArgs& a) {
  QueryOptions o;
  o.text = a.text;
  o.like = a.like;
  o.image = a.image;
  o.video = a.video;
  o.weight = a.weight;
  o.db = resolve_db(a.db);
  if (const std::string m = resolve_model(a.model); !m.empty()) o.model_dir = resolve_model_dir(m);
  o.device = a.device;
  o.k = a.k;
  o.min_score = a.min_score;
  o.path_glob = a.glob;
  o.max_segment = a.max_segment;
  o.group_by_video = a.group == "video";
  o.rerank = a.rerank;
#ifdef XSEARCH_FULL
  if (a.rerank) o.reranker = exact_reranker();
  if (!a.image.empty() || !a.video.empty()) o.embedder = example_embedder();
#endif
  o.threads = a.threads;
  return o;
}

void say_no_results(const QueryResult& r) {
  if (r.results.empty()) fmt::print(stderr, "xsearch: no results: {}\n", r.no_results.empty() ? "no clip matched" : r.no_results);
}

int run_query(const QueryArgs& a) {
#ifndef XSEARCH_FULL
  // The exact score, and embedding an image or a video clip, need LibTorch (and FFmpeg).
  if (a.rerank || !a.image.empty() || !a.video.empty()) exec_full();
#endif
  const auto start = std::chrono::steady_clock::now();
  const QueryResult r = query(options_from(a));
  for (const auto& w : r.warnings) fmt::print(stderr, "xsearch: warning: {}\n", w);
  if (a.timings) {
    for (const auto& [name, secs] : r.timings) fmt::print(stderr, "{:>16}: {:7.1f} ms\n", name, secs * 1e3);
    fmt::print(stderr, "{:>16}: {:7.1f} ms\n", "total in query()",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3);
  }
  if (!a.vector_out.empty()) {
    // Written before the hits are printed: a script that reads them may read the vector next.
    if (r.vector.empty()) throw Error(a.vector_out + ": not written: " + (r.no_results.empty() ? "no query vector" : r.no_results));
    write_npy(a.vector_out, {static_cast<int64_t>(r.vector.size())}, r.vector.data());
  }
  say_no_results(r);
  if (a.json) write_json(hits_json(r, hit_thumbnails(resolve_db(a.db), r.results, !a.no_thumbnails)));
  else if (a.paths_only) write_stdout(hits_paths(r.results));
  else write_stdout(hits_text(r.results, a.group == "video"));
  if (a.open > 0 && !r.results.empty()) play_hit(r, a.open);
  return r.results.empty() ? 1 : 0;
}

void add_query_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("query", "Find the clips that match a text, an example (a clip, an image, a video) or both");
  cmd->footer(
      "Combining: terms joined by + and - (\"horse + stripes - grass\"; a sign only where it starts a word), each\n"
      "  with an optional weight as rclip writes it (\"2:horse + stripes - 0.5:grass\"; a positive number and ':',\n"
      "  default 1) give T = normalize(sum of sign * weight * each term's unit text embedding); an example's unit\n"
      "  embedding E with a text gives\n"
      "  q = normalize((1 - W) * T + W * E), W = --weight. Scores are cosines with q.");
  cmd->add_option("text", a->text,
                  "What to look for, in plain language (the model reads 77 tokens, about 60 words); + and - join terms, N: weighs one");
  add_db_option(cmd, a->db);
  cmd->add_option("-k", a->k, fmt::format("Number of results, 1 to {} (videos with --group video)", kMaxResults));
  cmd->add_option("--min-score", a->min_score, "Drop results below this cosine similarity")->default_str("none")->check(finite_number());
  cmd->add_option("--path", a->glob,
                  "Only videos whose absolute path matches this glob ('*/2024/*'); a pattern without * ? [ matches anywhere in the path");
  cmd->add_option("--like", a->like,
                  "PATH@TIME: clips like the clip at TIME (seconds, or [h:]m:s as printed) of that video; PATH alone: its start");
  cmd->add_option("--image", a->image, "FILE: clips like this still image (JPEG, PNG, WebP...), embedded with the library's model");
  cmd->add_option("--video", a->video,
                  "PATH@TIME: clips like the clip at TIME of any video file, in the library or not (embedded with its model); PATH alone: its start");
  cmd->add_option("--weight", a->weight, "The example's share when combined with a text, 0 (text only) to 1 (example only)")
      ->capture_default_str();
  cmd->add_option("--max-segment", a->max_segment,
                  "Longest segment in seconds: touching hits are joined around the best one up to this (0: three clip lengths)");
  cmd->add_option("--group", a->group, "segment: one line per segment; video: one line per video with its best moments");
  cmd->add_flag("--paths-only", a->paths_only, "Print only the paths, each video once, in rank order (shell-quoted when needed)");
  cmd->add_flag("--rerank", a->rerank, "Re-score the top candidates with X-CLIP's exact, video-prompted score");
  cmd->add_option("--model", a->model, "Model: a folder or a hub id (default: $XSEARCH_MODEL, else the library's)");
  cmd->add_option("--device", a->device, "auto, cpu, cuda or cuda:N")
      ->envname("XSEARCH_DEVICE");
  cmd->add_option("--threads", a->threads, "Model threads (0: all cores)");
  cmd->add_flag("--json", a->json, "Print JSON (schema in README.md), with each hit's thumbnail file (made when missing)");
  cmd->add_flag("--no-thumbnails", a->no_thumbnails, "With --json: do not make missing thumbnails (their \"thumbnail\" is null)");
  cmd->add_option("--vector-out", a->vector_out,
                  "FILE: also write the unit query vector searched with as a float32 .npy (shape (D,)), for the vectors of export --embeddings");
  cmd->add_flag("--timings", a->timings, "Print how long each step took (stderr)");
  CLI::Option* open = cmd->add_option("--open", a->open,
                  "Play hit N (default 1) from its best moment in mpv, VLC or ffplay (else xdg-open); $XSEARCH_PLAYER picks one")
      ->expected(0, 1)
      ->default_str("1");
  cmd->callback([a, open, &run] {
    require_between("-k", a->k, 1, kMaxResults);
    if (open->count() > 0) require_at_least("--open", a->open, 1);
    require_at_least("--max-segment", a->max_segment, 0.0);
    if (!(a->weight >= 0 && a->weight <= 1))  // written so that nan is refused too
      throw CLI::ValidationError(fmt::format("--weight must be between 0 and 1 (got {})", a->weight));
    if (!a->like.empty() + !a->image.empty() + !a->video.empty() > 1)
      throw CLI::ValidationError("--like, --image and --video: give one example");
    if (a->group != "segment" && a->group != "video")
      throw CLI::ValidationError("--group takes segment or video (got " + a->group + ")");
    if (a->paths_only && a->json) throw CLI::ValidationError("--paths-only and --json: choose one");
    run = [a] { return run_query(*a); };
  });
}

}  // namespace xsearch::cli
