// xsearch query: text (or a stored clip) -> ranked, merged segments of the library's videos; optionally
// re-scored with X-CLIP's exact, video-prompted score.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace xsearch {

struct QueryOptions;

// Re-scores candidate clips with X-CLIP's exact, prompted score. text_raw [D] (get_text_features),
// embeds [N, D], prompt tokens [N, P, D] -> N cosines (logits / exp(logit_scale)). Needs LibTorch: the
// full pipeline provides it (exact_reranker()); without one, --rerank is refused.
using Reranker = std::function<std::vector<double>(const std::filesystem::path& model_dir, const std::vector<float>& text_raw,
                                                   const std::vector<float>& embeds, const std::vector<float>& prompts,
                                                   int64_t n, int64_t p, int64_t dim, const QueryOptions& options)>;
Reranker exact_reranker();

struct QueryOptions {
  std::string text;                  // the query text, or empty with `like`
  std::string like;                  // "PATH@SECONDS": clips similar to that clip
  std::filesystem::path db;
  std::filesystem::path model_dir;   // default: the library's model
  std::string device = "auto";
  int k = 10;
  double min_score = -std::numeric_limits<double>::infinity();
  std::string path_glob;             // keep only videos whose path matches (fnmatch)
  bool rerank = false;
  int rerank_candidates = 50;
  Reranker reranker;  // needed with rerank
  int threads = 0;
};

struct QueryHit {
  int rank = 0;
  std::string path;
  double start = 0, end = 0;
  double score = 0;          // cosine similarity (re-ranked: X-CLIP's prompted cosine)
  std::vector<int64_t> clip_ids;  // the merged clips, in time order
  int64_t video_id = 0;
  bool offline = false;           // the video file is not there now (an unplugged drive, a moved file)
};

struct QueryResult {
  std::string query;
  std::string model;
  bool reranked = false;
  std::vector<QueryHit> results;
  std::vector<std::pair<std::string, double>> timings;  // phase, seconds (for --timings)
  std::vector<std::string> warnings;  // "path: cause", e.g. an index file that could not be used
};

QueryResult query(const QueryOptions& options);

}  // namespace xsearch
