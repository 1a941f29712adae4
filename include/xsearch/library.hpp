// The video library: SQLite (the source of truth: videos, clips, embeddings, runs) and a FAISS index
// derived from it. No SQLite or FAISS types here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xsearch {

// The library file: --db, else $XSEARCH_DB, else $XDG_DATA_HOME/xsearch/library.db (~/.local/share/...).
std::filesystem::path default_library_path();

struct ModelIdentity {
  std::string name;         // what the user passed (folder name or hub id)
  std::string fingerprint;  // config.json and weights digest: the same model under any path
  int64_t dim = 0;          // embedding size
};

struct VideoRecord {
  int64_t id = 0;
  std::string path;  // absolute
  int64_t size = 0;
  int64_t mtime_ns = 0;
  std::string fingerprint;
  double duration = 0, fps = 0;
  int width = 0, height = 0;
  std::string status;  // "indexed" or "failed"
  std::string error;
  int64_t clips = 0;
};

struct ClipData {
  double start = 0, end = 0;
  std::vector<float> embedding;        // [D], as the model gives it (normalised when stored)
  std::vector<uint16_t> prompt_tokens; // [P * D] float16, empty unless stored for re-ranking
};

struct ClipRow {
  int64_t id = 0, video_id = 0;
  std::string path;
  double start = 0, end = 0;
};

struct RunSummary {
  int64_t indexed = 0, clips = 0, unchanged = 0, moved = 0, removed = 0, failed = 0, not_video = 0;
};

class Library {
 public:
  // Opens (and, when writable, creates) the library at `db`. Refuses a database of a newer schema, and
  // reports a damaged file clearly. A read-only open of a missing library is an error.
  static Library open(const std::filesystem::path& db, bool writable);
  Library(Library&&) noexcept;
  Library& operator=(Library&&) noexcept;
  ~Library();

  const std::filesystem::path& path() const;
  std::filesystem::path index_path() const;  // the FAISS file beside the database

  std::optional<ModelIdentity> model() const;
  // Records the library's model on first use; a different model later is refused with a clear message.
  void claim_model(const ModelIdentity& model);

  std::optional<VideoRecord> find_video(const std::string& path) const;
  std::vector<VideoRecord> find_by_fingerprint(const std::string& fingerprint) const;
  std::vector<VideoRecord> videos() const;
  int64_t video_count() const;
  int64_t clip_count() const;

  // One transaction each: a video with all its clips replaces whatever the library had for that path.
  void save_video(const VideoRecord& video, const std::vector<ClipData>& clips);
  void save_failure(const VideoRecord& video);
  void touch_video(int64_t id, int64_t size, int64_t mtime_ns);
  void move_video(int64_t id, const std::string& new_path, int64_t size, int64_t mtime_ns);
  void remove_video(int64_t id);

  int64_t begin_run(const std::vector<std::string>& roots);
  void finish_run(int64_t run, const RunSummary& summary, const std::string& status);

  std::vector<ClipRow> clips_by_id(const std::vector<int64_t>& ids) const;
  std::vector<ClipRow> clips_of_video(int64_t video_id) const;
  std::vector<float> clip_embedding(int64_t clip_id) const;
  std::vector<uint16_t> clip_prompt_tokens(int64_t clip_id) const;
  int64_t prompt_token_count() const;  // P of the stored prompt tokens (0 when none are stored)

  // Nearest clips to a normalised query vector by inner product: (clip id, score), best first. Loads the
  // FAISS index, rebuilding it from the stored embeddings when it is missing or stale.
  std::vector<std::pair<int64_t, float>> search(const std::vector<float>& query, int64_t k);
  // Rebuilds the FAISS index from SQLite and saves it (temporary file, then rename).
  void rebuild_index();
  // The number of clips above which the index is approximate (IVF-Flat) rather than exact.
  static int64_t exact_search_limit();

  struct Impl;

 private:
  explicit Library(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Half-precision helpers for stored prompt tokens.
std::vector<uint16_t> to_float16(const float* values, std::size_t n);
std::vector<float> from_float16(const std::vector<uint16_t>& values);

}  // namespace xsearch
