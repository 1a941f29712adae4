// xsearch query: text (or a stored clip) -> ranked segments of the library's videos, each joined around
// its best clip (the peak) up to a length limit; optionally re-scored with X-CLIP's exact, video-prompted
// score, or grouped one hit per video.
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
  std::string like;                  // "PATH@TIME" (seconds or [h:]m:s) or "PATH" (its start): clips like that clip
  std::filesystem::path db;
  std::filesystem::path model_dir;   // default: the library's model
  std::string device = "auto";
  int k = 10;
  double min_score = -std::numeric_limits<double>::infinity();
  std::string path_glob;             // keep only videos whose path matches: a glob, or a plain substring (PathFilter)
  // Longest segment in seconds: touching hits of one video are joined up to this (0: three windows,
  // i.e. three times the video's clip length). A single clip is never cut.
  double max_segment = 0;
  bool group_by_video = false;       // one hit per video (k counts videos), with its best moments
  int moments_per_video = 3;         // with group_by_video
  bool rerank = false;
  int rerank_candidates = 50;
  Reranker reranker;  // needed with rerank
  int threads = 0;
};

struct QueryHit {
  int rank = 0;
  std::string path;
  double start = 0, end = 0;
  double score = 0;          // the segment's best: cosine similarity (re-ranked: X-CLIP's prompted cosine)
  std::vector<int64_t> clip_ids;  // the merged clips, in time order
  int64_t video_id = 0;
  bool offline = false;           // the video file is not there now (an unplugged drive, a moved file)
  // The segment's best clip, which playback and the thumbnail start at; peak_score equals score.
  double peak = 0, peak_end = 0;
  double peak_score = 0;
  int64_t peak_clip_id = 0;
  // With group_by_video: the video's best segments, best first (this hit is the first of them).
  std::vector<QueryHit> moments;
};

struct QueryResult {
  std::string query;
  std::string model;
  bool reranked = false;
  std::vector<QueryHit> results;
  std::vector<std::pair<std::string, double>> timings;  // phase, seconds (for --timings)
  std::vector<std::string> warnings;  // "path: cause", e.g. an index file that could not be used
  // A text query: its length in tokens (with the start and end tokens) and whether it was longer than
  // the model reads (then a warning says where it was cut).
  int query_tokens = 0;
  bool truncated = false;
  // Why there are no results, when there are none: an empty library, a --path that matches no video, a
  // --min-score above every score. Empty when there are results.
  std::string no_results;
};

QueryResult query(const QueryOptions& options);

}  // namespace xsearch
