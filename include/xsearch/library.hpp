// The video library: SQLite (the source of truth: videos, clips, embeddings, runs) and a FAISS index
// derived from it. No SQLite or FAISS types here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xsearch/error.hpp"

namespace xsearch {

// The library file: --db, else $XSEARCH_DB, else $XDG_DATA_HOME/xsearch/library.db (~/.local/share/...).
std::filesystem::path default_library_path();
// Whether a --db value names a PostgreSQL server (postgresql:// or postgres://) rather than a file.
bool is_shared_library(const std::string& db);

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
  // "indexed"; "partial" (indexed up to a read error: `error` says why; save_video keeps it); "failed"
  std::string status;
  std::string error;
  int64_t clips = 0;
  // st_dev of the folder entry that holds the video's name (lstat), so that the folder found on another
  // device later (a drive unmounted from under it) is not taken for emptied. 0: not recorded yet (a row
  // written before schema version 3; set when an ingest sees the file again).
  int64_t dev = 0;
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
  int64_t elsewhere = 0;  // shared library: videos another worker stored during this run
};

// A shared library's ingest at a glance (`xsearch info`).
struct WorkerRow {
  std::string id, host, status;  // status: running, done, interrupted, failed; "gone" when its lease lapsed
  int64_t pid = 0, started_at = 0, last_seen = 0, done = 0;
};
struct WorkStatus {
  int64_t live_workers = 0;  // workers seen within the lease
  int64_t done = 0;          // videos stored (indexed, partial or failed)
  int64_t claimed = 0;       // videos a live claim is on
  int64_t pending = 0;       // videos planned by a worker, neither stored nor claimed
  std::vector<WorkerRow> workers;
};

struct VideoCounts {
  int64_t indexed = 0, partial = 0, failed = 0;
};

// Thrown by rebuild_index when its `cancelled` callback said stop (e.g. after SIGINT). The temporary file
// is already removed and the previous index file is untouched.
class IndexWriteCancelled : public Error {
 public:
  using Error::Error;
};

// Thrown by a writable open without waiting (LibraryOpenOptions::wait false) while another process holds
// the library's writer lock: `xsearch watch` retries later instead of failing.
class LibraryBusy : public Error {
 public:
  using Error::Error;
};

// Thrown by save_video and save_failure on a shared library when this worker's claim on the video lapsed
// and another worker took it over: nothing was written (the other worker stores the video).
class ClaimLost : public Error {
 public:
  using Error::Error;
};

// A pattern a root's walks skip (`ingest --exclude`, `xsearch exclude`): a glob (fnmatch, `*` crossing
// `/`, so `**` reads as any depth) or a plain relative path, matched against paths relative to `root`.
struct Exclusion {
  std::string root;  // absolute, normalised
  std::string pattern;
};

struct LibraryOpenOptions {
  // Writable: takes the library's writer lock (LIBRARY.lock beside the database: one writer at a time;
  // readers never wait) and migrates an older schema. Read-only opens take no lock.
  bool writable = false;
  // Create the database when it is missing (ingest only). Otherwise a missing library is an error naming it.
  bool create = false;
  // When another process holds the writer lock: wait for it (calling on_wait once with a message such as
  // "waiting for another xsearch writing DB (pid N)...") or, with wait = false, fail at once.
  bool wait = true;
  std::function<void(const std::string& message)> on_wait;
};

class Library {
 public:
  // Opens the library at `db`. Refuses a database of a newer schema, and reports a damaged file clearly.
  static Library open(const std::filesystem::path& db, const LibraryOpenOptions& options);
  // The same with {writable, create = writable, wait = true}.
  static Library open(const std::filesystem::path& db, bool writable);
  // The model the library at `db` records; nullopt when there is no library there yet (no file, an empty
  // database, a server without one) or it records none. Any other error opening it (damaged, unreadable)
  // is thrown: a first ingest must not take it for "no library" and fetch the default model.
  static std::optional<ModelIdentity> recorded_model(const std::filesystem::path& db);
  Library(Library&&) noexcept;
  Library& operator=(Library&&) noexcept;
  ~Library();

  // The database file, or for a shared library its server (postgresql://user@host:port/db, no password).
  const std::filesystem::path& path() const;
  std::filesystem::path index_path() const;  // the index file: beside the database, or in the local cache
  // The base of the media cache (thumbnails, renditions: LIBRARY.thumbs): the database file, or a shared
  // library's folder in $XDG_CACHE_HOME/xsearch/postgres/UUID/.
  std::filesystem::path media_base() const;
  // On a PostgreSQL server (`--db postgresql://...`): many ingests may write at once, each claiming the
  // videos it embeds; the index is a local cache refreshed by search(). False for a SQLite file.
  bool shared() const;

  // Shared ingest (no-ops on SQLite, where the writer lock already makes one writer). begin_work registers
  // this process as a worker with a lease (seconds; $XSEARCH_LEASE_SECONDS, else 60); claims then go
  // through a connection of their own, so that the decoder thread may ask while videos are stored. Each
  // round trip on it (claim, heartbeat, give back) must be answered within the lease, and within 0.5 s
  // once `stop` says yes: else the connection is given up and they all fail with "no answer from the
  // PostgreSQL server within N s".
  void begin_work(int lease_seconds, std::function<bool()> stop = {});
  enum class Claim { Mine, Taken, Done };
  // Mine: this worker holds the path now (it was free, its lease lapsed, or ours). Taken: a live worker
  // holds it. Done: the library already holds this very file (size, mtime and fingerprint).
  Claim claim_video(const std::string& path, const std::string& fingerprint, int64_t size, int64_t mtime_ns);
  // Gives a claim back: for another worker to take (a stop), or with `settled` as no work at all (not a
  // video), so that it leaves the pending list too.
  void release_video(const std::string& path, bool settled = false);
  void plan_work(const std::vector<std::string>& paths);  // the paths this worker found to do
  void heartbeat();                                     // renews this worker's leases
  void end_work(const std::string& status);
  WorkStatus work_status() const;

  std::optional<ModelIdentity> model() const;
  // Records the library's model on first use; a different model later is refused with a clear message.
  void claim_model(const ModelIdentity& model);

  std::optional<VideoRecord> find_video(const std::string& path) const;
  std::vector<VideoRecord> find_by_fingerprint(const std::string& fingerprint) const;
  std::vector<VideoRecord> videos() const;
  int64_t video_count() const;  // videos with clips: indexed and partial
  VideoCounts video_counts() const;
  int64_t clip_count() const;
  std::string uuid() const;  // the library's identity, written into its index files

  // One transaction each: a video with all its clips replaces whatever the library had for that path.
  // Clips get new ids (ids are never reused). The video is stored as "partial" when video.status says so,
  // else as "indexed". After the commit, save_video, save_failure and remove_video drop the video's media
  // cache (thumbnails, renditions: xsearch/media_cache.hpp), whose clip ids are gone.
  struct Saved {
    int64_t video_id = 0;
    std::vector<int64_t> clip_ids;  // in the order of `clips`
  };
  Saved save_video(const VideoRecord& video, const std::vector<ClipData>& clips);
  void save_failure(const VideoRecord& video);
  // Records the file's size, mtime and device (a `dev` of 0 keeps the stored one).
  void touch_video(int64_t id, int64_t size, int64_t mtime_ns, int64_t dev = 0);
  void move_video(int64_t id, const std::string& new_path, int64_t size, int64_t mtime_ns, int64_t dev = 0);
  void remove_video(int64_t id);

  // Exclusions remembered per root (none in a library older than schema 5), sorted by root and pattern.
  // add_exclusion and remove_exclusion need a writable library; each returns whether it changed anything.
  std::vector<Exclusion> exclusions() const;
  bool add_exclusion(const Exclusion& exclusion);
  bool remove_exclusion(const Exclusion& exclusion);

  // A run's row in `runs`: 'running' until finish_run. Opening for writing marks the rows still 'running'
  // as 'interrupted' (their processes are gone: the writer lock is free).
  int64_t begin_run(const std::vector<std::string>& roots);
  void finish_run(int64_t run, const RunSummary& summary, const std::string& status);

  std::vector<ClipRow> clips_by_id(const std::vector<int64_t>& ids) const;
  std::vector<ClipRow> clips_of_video(int64_t video_id) const;
  std::vector<float> clip_embedding(int64_t clip_id) const;
  std::vector<uint16_t> clip_prompt_tokens(int64_t clip_id) const;
  int64_t prompt_token_count() const;  // P of the stored prompt tokens (0 when none are stored)
  // Every clip with its video's path and its stored embedding ([dim] floats, valid during the call), in id
  // order, from one snapshot of the library (`xsearch export --embeddings`). A stored embedding of the
  // wrong size is an error naming the clip. Nothing when the library records no model.
  void scan_clips(const std::function<void(const ClipRow& clip, const float* embedding)>& visit) const;

  // Nearest clips to a normalised query vector by inner product: (clip id, score), best first. Never
  // writes: an index file of this library and generation is used as it is; one of an older generation
  // (an ingest is running, or was interrupted) answers together with an exact scan of the clips stored
  // since (ids above its largest), without the clips deleted since; with no usable index file (missing,
  // damaged, another library's) every stored embedding is scanned and index_note() says why.
  std::vector<std::pair<int64_t, float>> search(const std::vector<float>& query, int64_t k);
  // Why the last search could not use the index file ("" when it could, or when the file was merely
  // missing or older): for a warning on stderr.
  const std::string& index_note() const;
  // Rebuilds the index from SQLite and saves it (temporary file, every step checked, then rename); needs a
  // writable library. Removes temporary index files left by killed processes first. An IVF index is
  // updated in place when it suits the library's size, unless `from_scratch` (`xsearch reindex`).
  // `cancelled` (may be empty) is asked between chunks of work: when it returns true the temporary file
  // is removed and IndexWriteCancelled is thrown (use it to stop on SIGINT). Failures throw xsearch::Error
  // naming the file; the previous index file stays as it was.
  void rebuild_index(const std::function<bool()>& cancelled = {}, bool from_scratch = false);
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
