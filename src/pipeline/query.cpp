// xsearch query: text (or a clip) -> embedding -> FAISS -> SQLite -> filtered, merged, ranked segments;
// optionally re-scored with X-CLIP's exact, video-prompted score. And export / remove.
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "pipeline/paths.hpp"
#include "pipeline/vectors.hpp"
#include "text_encoder/native_text_encoder.hpp"
#include "xsearch/error.hpp"
#include "xsearch/pipeline.hpp"
#include "xsearch/tokenizer.hpp"

namespace xsearch {

namespace {

struct Candidate {
  ClipRow clip;
  double score;
};

// "PATH@SECONDS" -> (absolute path, seconds).
std::pair<std::string, double> parse_like(const std::string& like) {
  const auto at = like.rfind('@');
  if (at == std::string::npos || at == 0) throw Error("--like: expected PATH@SECONDS, got \"" + like + "\"");
  double seconds;
  try {
    std::size_t used = 0;
    seconds = std::stod(like.substr(at + 1), &used);
    if (used != like.size() - at - 1) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw Error("--like: \"" + like.substr(at + 1) + "\" is not a number of seconds");
  }
  return {std::filesystem::absolute(like.substr(0, at)).lexically_normal().string(), seconds};
}

// Adjacent or overlapping hits of one video become one segment with the best score.
std::vector<QueryHit> merge_segments(std::vector<Candidate> candidates) {
  std::map<int64_t, std::vector<Candidate>> by_video;
  for (auto& c : candidates) by_video[c.clip.video_id].push_back(std::move(c));
  std::vector<QueryHit> hits;
  for (auto& [video, list] : by_video) {
    std::sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) { return a.clip.start < b.clip.start; });
    QueryHit cur;
    bool open = false;
    for (const auto& c : list) {
      if (open && c.clip.start <= cur.end + 1e-6) {
        cur.end = std::max(cur.end, c.clip.end);
        cur.score = std::max(cur.score, c.score);
        cur.clip_ids.push_back(c.clip.id);
        continue;
      }
      if (open) hits.push_back(cur);
      cur = QueryHit{};
      cur.path = c.clip.path;
      cur.video_id = c.clip.video_id;
      cur.start = c.clip.start;
      cur.end = c.clip.end;
      cur.score = c.score;
      cur.clip_ids = {c.clip.id};
      open = true;
    }
    if (open) hits.push_back(cur);
  }
  std::sort(hits.begin(), hits.end(), [](const QueryHit& a, const QueryHit& b) {
    return a.score != b.score ? a.score > b.score : a.path != b.path ? a.path < b.path : a.start < b.start;
  });
  return hits;
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
  if (o.text.empty() == o.like.empty()) throw Error("query: give either a text or --like PATH@SECONDS");
  Library library = Library::open(o.db, false);
  const auto identity = library.model();
  if (!identity) return result;  // an empty library
  phase("open library");
  result.model = identity->name;
  const std::filesystem::path model_dir = o.model_dir.empty() && o.like.empty() ? resolve_model_dir(identity->name) : o.model_dir;

  std::vector<float> query_vector;
  std::vector<float> text_raw;
  int64_t source_clip = -1;  // with --like: the clip asked about, first among equals
  if (!o.like.empty()) {
    const auto [path, seconds] = parse_like(o.like);
    result.query = o.like;
    const auto video = library.find_video(path);
    if (!video || video->status == "failed") throw Error(path + ": not in the library");
    const auto clips = library.clips_of_video(video->id);
    if (clips.empty()) throw Error(path + ": no clips in the library");
    const ClipRow* best = &clips.front();
    for (const auto& c : clips)
      if (c.start <= seconds && seconds < c.end) {
        best = &c;
        break;
      } else if (std::fabs(c.start - seconds) < std::fabs(best->start - seconds)) {
        best = &c;
      }
    query_vector = library.clip_embedding(best->id);
    source_clip = best->id;
  } else {
    result.query = o.text;
    const ClipTokenizer tokenizer = ClipTokenizer::load(model_dir);
    phase("load tokenizer");
    // The text side runs without LibTorch (same numbers; the process never loads it).
    const NativeTextEncoder encoder = NativeTextEncoder::load(model_dir);
    phase("load text model");
    if (model_identity(model_dir, encoder.config().projection_dim).fingerprint != identity->fingerprint)
      throw Error(model_dir.string() + ": not the model this library was built with (" + identity->name + ")");
    text_raw = encoder.encode(tokenizer.encode(o.text));
    query_vector = normalised(text_raw);
    phase("encode text");
  }

  // Enough candidates that filtering and merging still leave k segments in the usual case.
  const int64_t wanted = std::max<int64_t>({static_cast<int64_t>(o.k) * 8, 64, o.rerank ? o.rerank_candidates : 0});
  const auto found = library.search(query_vector, o.path_glob.empty() ? wanted : std::max<int64_t>(wanted, 1000));
  std::vector<int64_t> ids;
  for (const auto& f : found) ids.push_back(f.first);
  phase("search");
  if (!library.index_note().empty())
    result.warnings.push_back(library.index_note() + " (answered from the stored embeddings; `xsearch reindex` rebuilds the index)");
  const auto rows = library.clips_by_id(ids);
  std::map<int64_t, double> score_of(found.begin(), found.end());
  std::vector<Candidate> candidates;
  for (const auto& row : rows) {
    if (!o.path_glob.empty() && fnmatch(o.path_glob.c_str(), row.path.c_str(), 0) != 0) continue;
    candidates.push_back({row, score_of[row.id]});
  }

  if (o.rerank && !candidates.empty()) {
    if (!o.reranker) throw Error("--rerank needs the full xsearch (with LibTorch)");
    const int64_t dim = identity->dim, p = library.prompt_token_count();
    if (p <= 0)
      throw Error(library.path().string() + ": --rerank needs prompt tokens stored at ingest (xsearch ingest --store-prompts)");
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
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

  auto hits = merge_segments(std::move(candidates));
  if (source_clip >= 0) {
    auto own = std::find_if(hits.begin(), hits.end(), [&](const QueryHit& h) {
      return std::find(h.clip_ids.begin(), h.clip_ids.end(), source_clip) != h.clip_ids.end();
    });
    if (own != hits.end() && !hits.empty() && own->score >= hits.front().score - 1e-6) std::rotate(hits.begin(), own, own + 1);
  }
  std::vector<QueryHit> kept;
  for (auto& h : hits) {
    if (h.score < o.min_score) continue;
    if (static_cast<int>(kept.size()) >= o.k) break;
    h.rank = static_cast<int>(kept.size()) + 1;
    kept.push_back(std::move(h));
  }
  for (auto& h : kept) {
    struct stat st {};
    h.offline = ::stat(h.path.c_str(), &st) != 0;  // shown, not acted on: the library keeps offline videos
  }
  result.results = std::move(kept);
  phase("join and merge");
  return result;
}

std::vector<ExportedClip> export_clips(const std::filesystem::path& db) {
  Library library = Library::open(db, false);
  std::vector<ExportedClip> out;
  for (const auto& v : library.videos())
    for (const auto& c : library.clips_of_video(v.id)) out.push_back({c.id, c.video_id, c.path, c.start, c.end});
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
