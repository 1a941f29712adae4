// The two jobs of xsearch over a library: ingest (walk folders, decode, embed, store) and query (text or a
// clip -> ranked, merged segments). Plain types only; progress and errors reach the caller through
// IngestObserver, the library itself never prints.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "xsearch/library.hpp"

namespace xsearch {

struct IngestOptions {
  std::vector<std::filesystem::path> roots;
  std::filesystem::path db;
  std::filesystem::path model_dir;
  std::string model_name;  // how the user named it (hub id or folder); recorded in the library
  std::string device = "auto";
  double window = 4.0;
  double stride = 0.0;  // 0: equal to the window
  int batch = 8;
  int threads = 0;
  bool include_hidden = false;
  // Also store each clip's prompt tokens (float16, P x D values) so that `query --rerank` can give
  // X-CLIP's exact score; base-patch32: 49 x 512 x 2 bytes = 50 KB per clip.
  bool store_prompts = false;
};

struct IngestProgress {
  int64_t files_done = 0, files_total = 0;
  int64_t clips_done = 0, clips_total = 0;  // clips_total grows as videos are opened
  double clips_per_second = 0;
  double eta_seconds = -1;
};

// Messages read "path: cause".
struct IngestObserver {
  std::function<void(const std::string& message)> on_error;
  std::function<void(const std::string& message)> on_warning;
  std::function<void(const IngestProgress&)> on_progress;
};

struct IngestReport {
  RunSummary summary;
  std::vector<std::pair<std::string, std::string>> failures;  // path, cause
  double seconds = 0;
  double clips_per_second = 0;
  std::string model;
  std::string db;
};

IngestReport ingest(const IngestOptions& options, const IngestObserver& observer);

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
  std::vector<int64_t> clip_ids;  // the merged clips
};

struct QueryResult {
  std::string query;
  std::string model;
  bool reranked = false;
  std::vector<QueryHit> results;
  std::vector<std::pair<std::string, double>> timings;  // phase, seconds (for --timings)
};

QueryResult query(const QueryOptions& options);

// Every clip of the library (path, start, end, ids), for `xsearch export`.
struct ExportedClip {
  int64_t clip_id = 0, video_id = 0;
  std::string path;
  double start = 0, end = 0;
};
std::vector<ExportedClip> export_clips(const std::filesystem::path& db);

// Removes the videos at `path` (a file, or every video under a folder); returns how many.
int64_t remove_videos(const std::filesystem::path& db, const std::filesystem::path& path);

// A content fingerprint of a file: its size and digests of its first, middle and last megabyte.
std::string file_fingerprint(const std::filesystem::path& path);
// The identity of a model folder (config.json and the weights' header and sampled bytes); `name` is what
// the library shows (default: the folder's absolute path).
ModelIdentity model_identity(const std::filesystem::path& model_dir, int64_t dim, const std::string& name = "");

}  // namespace xsearch

namespace xsearch {

// Zero-shot classification, exactly the reference XCLIPModel forward followed by a softmax over
// logits_per_video. Without per_clip the whole video is one clip.
struct ClassifyOptions {
  std::filesystem::path video;
  std::vector<std::string> labels;
  std::filesystem::path model_dir;
  std::string device = "auto";
  bool per_clip = false;
  double window = 4.0, stride = 0.0;
  int threads = 0;
};

struct ClassifiedClip {
  double start = 0, end = 0;
  std::vector<double> probs, logits;  // one per label
};

struct ClassifyResult {
  std::string video;
  std::vector<std::string> labels;
  std::vector<ClassifiedClip> clips;  // one without per_clip
};

ClassifyResult classify(const ClassifyOptions& options);

// A model given as a folder, or as a hub id ("microsoft/xclip-base-patch32") already in the Hugging Face
// cache ($HF_HOME/hub, else ~/.cache/huggingface/hub). Throws with what to do when it is neither.
std::filesystem::path resolve_model_dir(const std::string& spec);

}  // namespace xsearch
