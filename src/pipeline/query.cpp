// xsearch query: a text and/or an example -> query vector (query_vector.cpp) -> index -> SQLite -> filtered
// segments around their best clips, ranked; optionally re-scored with X-CLIP's exact, video-prompted
// score. And export / remove.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <limits>
#include <set>

#include "pipeline/path_filter.hpp"
#include "pipeline/paths.hpp"
#include "pipeline/query_vector.hpp"
#include "pipeline/segments.hpp"
#include "pipeline/vectors.hpp"
#include "xsearch/error.hpp"
#include "xsearch/pipeline.hpp"

namespace xsearch {

namespace {

using pipeline::ScoredClip;

// The most candidates a query gathers while looking for k results that pass its filters: beyond this a
// --path or --min-score that keeps almost nothing would read a large part of the library.
constexpr int64_t kMaxCandidates = 20000;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

// Why nothing was found, for the caller to say (README: query, "no results").
std::string why_nothing(const Library& library, const QueryOptions& o, const pipeline::PathFilter& filter, double best_score, int64_t pool) {
  if (!filter.empty()) {
    std::string example;
    bool any = false;
    for (const auto& v : library.videos()) {
      if (v.status == "failed") continue;
      if (example.empty()) example = v.path;
      if (filter.matches(v.path)) {
        any = true;
        break;
      }
    }
    if (!any) return filter.explain(example);
  }
  if (std::isfinite(best_score) && best_score < o.min_score)
    return "no clip scores --min-score " + number(o.min_score) + " or more (the best scores " + number(best_score) + ")";
  if (!filter.empty() && !std::isfinite(best_score))
    return "the videos --path '" + o.path_glob + "' matches have no clip among the library's best " + std::to_string(pool) + " for this query";
  return "no clip matched";
}

}  // namespace

QueryResult query(const QueryOptions& o) {
  auto phase_start = std::chrono::steady_clock::now();
  QueryResult result;
  auto phase = [&](const char* name) {
    const auto now = std::chrono::steady_clock::now();
    result.timings.emplace_back(name, std::chrono::duration<double>(now - phase_start).count());
    phase_start = now;
  };
  if (o.k <= 0) throw Error("-k must be at least 1");
  if (o.text.find_first_not_of(" \t\r\n") == std::string::npos && o.like.empty() && o.image.empty() && o.video.empty())
    throw Error("query: give a text, an example (--like, --image, --video) or both");
  Library library = Library::open(o.db, false);
  const auto identity = library.model();
  if (!identity) {
    result.no_results = "the library holds no videos yet (xsearch ingest FOLDER)";
    return result;
  }
  phase("open library");
  result.model = identity->name;
  if (o.rerank && (o.text.empty() || !o.like.empty() || !o.image.empty() || !o.video.empty()))
    throw Error("--rerank scores a text alone: not with --like, --image or --video");
  const pipeline::QueryVector built = pipeline::build_query_vector(o, library, *identity, result, phase);
  if (o.rerank && built.text_raw.empty()) throw Error("--rerank scores a plain text: not one of + and - terms");
  const std::vector<float>& query_vector = built.vector;
  result.vector = built.vector;
  const std::vector<float>& text_raw = built.text_raw;
  const int64_t source_clip = built.source_clip;  // with --like alone: the clip asked about, first among equals
  // The re-ranker loads the model: the library's, unless --model named one.
  const std::filesystem::path model_dir = o.model_dir.empty() && o.rerank ? resolve_model_dir(identity->name) : o.model_dir;

  const pipeline::PathFilter filter(o.path_glob);
  // Enough candidates that filtering and merging leave k results in the usual case; more are gathered
  // (up to kMaxCandidates) when they do not: -k is the number of results whenever the library has them.
  const int64_t wanted = std::max<int64_t>({static_cast<int64_t>(o.k) * 8, 64, o.rerank ? o.rerank_candidates : 0});
  int64_t pool = o.path_glob.empty() ? wanted : std::max<int64_t>(wanted, 1000);
  std::vector<QueryHit> hits;
  double best_score = -std::numeric_limits<double>::infinity();
  for (;;) {
    const auto found = library.search(query_vector, pool);
    std::vector<int64_t> ids;
    for (const auto& f : found) ids.push_back(f.first);
    phase("search");
    const auto rows = library.clips_by_id(ids);
    std::map<int64_t, double> score_of(found.begin(), found.end());
    std::vector<ScoredClip> candidates;
    for (const auto& row : rows) {
      if (!filter.matches(row.path)) continue;
      candidates.push_back({row, score_of[row.id]});
    }
    if (o.rerank && !candidates.empty()) {
      if (!o.reranker) throw Error("--rerank needs the full xsearch (with LibTorch)");
      const int64_t dim = identity->dim, p = library.prompt_token_count();
      if (p <= 0)
        throw Error(library.path().string() + ": --rerank needs prompt tokens stored at ingest (xsearch ingest --store-prompts)");
      std::sort(candidates.begin(), candidates.end(), [](const ScoredClip& a, const ScoredClip& b) { return a.score > b.score; });
      if (static_cast<int>(candidates.size()) > o.rerank_candidates) candidates.resize(static_cast<std::size_t>(o.rerank_candidates));
      std::vector<float> embeds, prompts;
      for (const auto& c : candidates) {
        const auto e = library.clip_embedding(c.clip.id);
        const auto t = from_float16(library.clip_prompt_tokens(c.clip.id));
        if (static_cast<int64_t>(t.size()) != p * dim) throw Error(c.clip.path + ": clip stored without prompt tokens (ingest again with --store-prompts)");
        embeds.insert(embeds.end(), e.begin(), e.end());
        prompts.insert(prompts.end(), t.begin(), t.end());
      }
      const int64_t n = static_cast<int64_t>(candidates.size());
      const auto scores = o.reranker(model_dir, text_raw, embeds, prompts, n, p, dim, o);
      for (int64_t i = 0; i < n; ++i) candidates[static_cast<std::size_t>(i)].score = scores[static_cast<std::size_t>(i)];
      result.reranked = true;
    }
    for (const auto& c : candidates) best_score = std::max(best_score, c.score);
    hits = pipeline::build_segments(std::move(candidates), o.max_segment);
    // Enough results that pass --min-score (videos, when grouped)?
    std::set<int64_t> videos;
    int64_t usable = 0;
    for (const auto& h : hits)
      if (h.score >= o.min_score) ++usable, videos.insert(h.video_id);
    if (o.group_by_video) usable = static_cast<int64_t>(videos.size());
    // Stop when k pass, when the library has no more clips, when re-ranking (which scores a fixed
    // pool), or when the last candidate already scores below --min-score (no later one can pass).
    const bool exhausted = static_cast<int64_t>(found.size()) < pool;
    const bool below = !found.empty() && found.back().second < o.min_score;
    if (usable >= o.k || exhausted || o.rerank || below || pool >= kMaxCandidates) break;
    pool = std::min<int64_t>(pool * 4, kMaxCandidates);
  }
  if (!library.index_note().empty())
    result.warnings.push_back(library.index_note() + " (answered from the stored embeddings; `xsearch reindex` rebuilds the index)");

  if (source_clip >= 0) {
    auto own = std::find_if(hits.begin(), hits.end(), [&](const QueryHit& h) {
      return std::find(h.clip_ids.begin(), h.clip_ids.end(), source_clip) != h.clip_ids.end();
    });
    if (own != hits.end() && !hits.empty() && own->score >= hits.front().score - 1e-6) std::rotate(hits.begin(), own, own + 1);
  }
  std::vector<QueryHit> passing;
  for (auto& h : hits) {
    if (h.score < o.min_score) continue;
    passing.push_back(std::move(h));
  }
  if (o.group_by_video) passing = pipeline::group_by_video(passing, std::max(1, o.moments_per_video));
  std::vector<QueryHit> kept;
  for (auto& h : passing) {
    if (static_cast<int>(kept.size()) >= o.k) break;
    h.rank = static_cast<int>(kept.size()) + 1;
    kept.push_back(std::move(h));
  }
  for (auto& h : kept) {
    struct stat st {};
    h.offline = ::stat(h.path.c_str(), &st) != 0;  // shown, not acted on: the library keeps offline videos
    for (auto& m : h.moments) m.offline = h.offline;
  }
  result.results = std::move(kept);
  if (result.results.empty()) result.no_results = why_nothing(library, o, filter, best_score, pool);
  phase("join and merge");
  return result;
}

std::vector<ExportedClip> export_clips(const std::filesystem::path& db, const std::string& path_pattern, std::string* why_none) {
  Library library = Library::open(db, false);
  const pipeline::PathFilter filter(path_pattern);
  std::vector<ExportedClip> out;
  std::string example;
  for (const auto& v : library.videos()) {
    if (v.status != "failed" && example.empty()) example = v.path;
    if (!filter.matches(v.path)) continue;
    for (const auto& c : library.clips_of_video(v.id)) out.push_back({c.id, c.video_id, c.path, c.start, c.end});
  }
  if (out.empty() && why_none)
    *why_none = example.empty() ? "the library holds no videos yet (xsearch ingest FOLDER)" : filter.explain(example);
  return out;
}

int64_t remove_videos(const std::filesystem::path& db, const std::filesystem::path& path) {
  LibraryOpenOptions writer;
  writer.writable = true;  // and never create: a mistyped --db is an error, not an empty library
  Library library = Library::open(db, writer);
  return remove_videos(library, path);
}

int64_t remove_videos(Library& library, const std::filesystem::path& path) {
  const std::string target = std::filesystem::absolute(path).lexically_normal().string();
  int64_t removed = 0;
  for (const auto& v : library.videos())
    if (path_under(v.path, target)) {
      library.remove_video(v.id);
      ++removed;
    }
  if (removed > 0) library.rebuild_index();
  return removed;
}

}  // namespace xsearch
