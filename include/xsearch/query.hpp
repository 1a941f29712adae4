// xsearch query: a text, an example (a stored clip, an image, a clip of any video) or both -> ranked
// segments of the library's videos, each joined around its best clip (the peak) up to a length limit;
// optionally re-scored with X-CLIP's exact, video-prompted score, or grouped one hit per video.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "xsearch/error.hpp"

namespace xsearch {

struct QueryOptions;

// Re-scores candidate clips with X-CLIP's exact, prompted score. text_raw [D] (get_text_features),
// embeds [N, D], prompt tokens [N, P, D] -> N cosines (logits / exp(logit_scale)). Needs LibTorch: the
// full pipeline provides it (exact_reranker()); without one, --rerank is refused.
using Reranker = std::function<std::vector<double>(const std::filesystem::path& model_dir, const std::vector<float>& text_raw,
                                                   const std::vector<float>& embeds, const std::vector<float>& prompts,
                                                   int64_t n, int64_t p, int64_t dim, const QueryOptions& options)>;
Reranker exact_reranker();

// Search by example: a still image, or the clip at a time of any video file (in the library or not),
// embedded with the library's model as ingest embeds a clip.
struct ExampleRequest {
  std::filesystem::path model_dir;
  bool image = false;             // a still, repeated to the model's frame count; else a clip of a video
  std::filesystem::path path;
  double seconds = 0;             // video: the clip that holds this time (the nearest one past the end)
  double window = 4, stride = 4;  // video: the library's clip rule (ingest --window, --stride)
  std::string device = "auto";
  int threads = 0;
};
struct ExampleEmbedding {
  std::vector<float> embedding;   // [D], get_video_features, not normalised
  std::string fingerprint;        // the model's (model_identity), to check it is the library's
  double start = 0, end = 0;      // video: the clip embedded
  double duration = 0;            // video: the file's (first frame to end of last)
};
using ExampleEmbedder = std::function<ExampleEmbedding(const ExampleRequest&)>;
// What an embedder throws when it gave up on an example at its time limit (serve's model helper, a
// decoder stuck on a hostile file): serve answers it 504, not as the example's fault.
class ExampleTimedOut : public Error {
 public:
  using Error::Error;
};
// Needs LibTorch and FFmpeg: the full pipeline provides it; without one, --image and --video are refused.
ExampleEmbedder example_embedder();

struct QueryOptions {
  // The query text: one term, or terms joined by + and - ("horse + stripes - grass"). May be empty with
  // an example (like, image or video); with both, the example weighs `weight` (README: query, "Combining").
  std::string text;
  std::string like;                  // "PATH@TIME" (seconds or [h:]m:s) or "PATH" (its start): clips like that clip
  std::string image;                 // a still image file (JPEG, PNG, WebP...): clips like it
  std::string video;                 // "PATH@TIME" or "PATH" of any video file: clips like that clip of it
  double weight = 0.5;               // the example's share when combined with a text, 0 to 1
  ExampleEmbedder embedder;          // needed with image or video
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

// The example a query searched with (kind "" when none).
struct QueryExample {
  std::string kind;          // "like", "image" or "video"
  std::string path;          // absolute
  double start = 0, end = 0; // like, video: the clip searched with
  double weight = 1;         // its share of the query vector: 1 alone, --weight with a text
};

struct QueryResult {
  std::string query;
  // The text's terms and their signs (+1, -1), in order; empty without a text.
  std::vector<std::pair<std::string, int>> terms;
  std::vector<double> term_weights;  // each term's weight ("2:horse": 2; 1 without one), in the order of terms
  QueryExample example;
  std::string model;
  bool reranked = false;
  std::vector<QueryHit> results;
  // The unit query vector searched with ([D]; empty when the library has no model): `query --vector-out`.
  std::vector<float> vector;
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
