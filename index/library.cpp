// The library's SQLite side: schema and migrations, videos, clips with their embeddings, runs.
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "library_impl.hpp"
#include "xsearch/error.hpp"
#include "xsearch/media_cache.hpp"

namespace xsearch {

namespace {

// Schema versions: each entry migrates from version i to i + 1. A database newer than the last is refused.
const char* const kMigrations[] = {
    // 0 -> 1
    R"(CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
       CREATE TABLE videos (
         id INTEGER PRIMARY KEY,
         path TEXT NOT NULL UNIQUE,
         size INTEGER NOT NULL,
         mtime_ns INTEGER NOT NULL,
         fingerprint TEXT NOT NULL,
         duration REAL NOT NULL DEFAULT 0,
         fps REAL NOT NULL DEFAULT 0,
         width INTEGER NOT NULL DEFAULT 0,
         height INTEGER NOT NULL DEFAULT 0,
         status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
         error TEXT,
         updated_at INTEGER NOT NULL);
       CREATE INDEX videos_fingerprint ON videos (fingerprint);
       CREATE TABLE clips (
         id INTEGER PRIMARY KEY,
         video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
         start REAL NOT NULL,
         end REAL NOT NULL,
         embedding BLOB NOT NULL,
         prompt_tokens BLOB);
       CREATE INDEX clips_video ON clips (video_id);
       CREATE TABLE runs (
         id INTEGER PRIMARY KEY,
         started_at INTEGER NOT NULL,
         finished_at INTEGER,
         roots TEXT NOT NULL,
         status TEXT NOT NULL,
         indexed INTEGER NOT NULL DEFAULT 0,
         clips INTEGER NOT NULL DEFAULT 0,
         unchanged INTEGER NOT NULL DEFAULT 0,
         moved INTEGER NOT NULL DEFAULT 0,
         removed INTEGER NOT NULL DEFAULT 0,
         failed INTEGER NOT NULL DEFAULT 0);
       INSERT INTO meta VALUES ('generation', '0');)",
    // 1 -> 2: ids are never reused (AUTOINCREMENT: the index files and a query on a stale index rely on
    // it), videos may be 'partial', and the library gets its identity. The tables are rebuilt keeping
    // every row and id (SQLite cannot change a column's definition in place); foreign keys are off
    // meanwhile (set outside the transaction by open()).
    R"(CREATE TABLE videos_v2 (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         path TEXT NOT NULL UNIQUE,
         size INTEGER NOT NULL,
         mtime_ns INTEGER NOT NULL,
         fingerprint TEXT NOT NULL,
         duration REAL NOT NULL DEFAULT 0,
         fps REAL NOT NULL DEFAULT 0,
         width INTEGER NOT NULL DEFAULT 0,
         height INTEGER NOT NULL DEFAULT 0,
         status TEXT NOT NULL CHECK (status IN ('indexed', 'failed', 'partial')),
         error TEXT,
         updated_at INTEGER NOT NULL);
       INSERT INTO videos_v2 (id, path, size, mtime_ns, fingerprint, duration, fps, width, height, status, error, updated_at)
         SELECT id, path, size, mtime_ns, fingerprint, duration, fps, width, height, status, error, updated_at FROM videos;
       CREATE TABLE clips_v2 (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
         start REAL NOT NULL,
         end REAL NOT NULL,
         embedding BLOB NOT NULL,
         prompt_tokens BLOB);
       INSERT INTO clips_v2 (id, video_id, start, end, embedding, prompt_tokens)
         SELECT id, video_id, start, end, embedding, prompt_tokens FROM clips;
       DROP TABLE clips;
       DROP TABLE videos;
       ALTER TABLE videos_v2 RENAME TO videos;
       ALTER TABLE clips_v2 RENAME TO clips;
       CREATE INDEX videos_fingerprint ON videos (fingerprint);
       CREATE INDEX clips_video ON clips (video_id);
       INSERT INTO meta VALUES ('uuid', lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
         substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random() % 4), 1) ||
         substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))));
       UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';)",
    // 2 -> 3: the device (st_dev) of the folder that holds each video's name, so that a folder now on
    // another device (a drive unmounted from under its mount point) is offline rather than emptied. NULL
    // for rows from older versions until an ingest sees the file again.
    R"(ALTER TABLE videos ADD COLUMN dev INTEGER;)",
    // 3 -> 4: the ids of clips deleted, kept until an index file without them is written, so that a query
    // on a lists index skips them while it scans (vector_index.cpp) instead of finding them dead after.
    // The clip count is kept in meta by triggers too: counting a million rows takes SQLite over a second
    // (its table pages hold the embeddings), and a fresh query needs the count to trust its index file.
    R"(CREATE TABLE removed_clips (id INTEGER PRIMARY KEY);
       INSERT INTO meta VALUES ('clip_count', (SELECT count(*) FROM clips));
       CREATE TRIGGER clips_added AFTER INSERT ON clips BEGIN
         UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'clip_count'; END;
       CREATE TRIGGER clips_removed AFTER DELETE ON clips BEGIN
         INSERT OR IGNORE INTO removed_clips VALUES (old.id);
         UPDATE meta SET value = CAST(value AS INTEGER) - 1 WHERE key = 'clip_count'; END;)",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);
// The oldest schema a read-only open can read (queries need only columns that version 1 has; `dev` reads
// as unknown before version 3).
constexpr int kOldestReadable = 1;
constexpr int kFirstWithDevice = 3;

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

VideoRecord read_video(const db::Statement& s) {
  VideoRecord v;
  v.id = s.int64(0);
  v.path = s.text(1);
  v.size = s.int64(2);
  v.mtime_ns = s.int64(3);
  v.fingerprint = s.text(4);
  v.duration = s.real(5);
  v.fps = s.real(6);
  v.width = static_cast<int>(s.int64(7));
  v.height = static_cast<int>(s.int64(8));
  v.status = s.text(9);
  v.error = s.text(10);
  v.clips = s.int64(11);
  v.dev = s.is_null(12) ? 0 : s.int64(12);
  return v;
}

// The columns read_video reads; `schema` is the open database's version (a read-only open may be older).
std::string video_columns(int schema) {
  return std::string("SELECT v.id, v.path, v.size, v.mtime_ns, v.fingerprint, v.duration, v.fps, v.width, v.height, v.status, "
                     "coalesce(v.error, ''), (SELECT count(*) FROM clips c WHERE c.video_id = v.id), ") +
         (schema >= kFirstWithDevice ? "v.dev" : "NULL") + " FROM videos v ";
}

}  // namespace

std::filesystem::path default_library_path() {
  if (const char* env = std::getenv("XSEARCH_DB"); env && *env) return env;
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) base = xdg;
  else if (const char* home = std::getenv("HOME"); home && *home) base = std::filesystem::path(home) / ".local" / "share";
  else base = ".";
  return base / "xsearch" / "library.db";
}

bool is_shared_library(const std::string& db) { return db::is_postgres_uri(db); }

std::string Library::Impl::meta(const std::string& key, const std::string& fallback) const {
  auto s = conn->prepare("SELECT value FROM meta WHERE key = ?");
  s.bind(1, key);
  return s.step() ? s.text(0) : fallback;
}

void Library::Impl::set_meta(const std::string& key, const std::string& value) {
  conn->prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .bind(1, key)
      .bind(2, value)
      .run();
}

int64_t Library::Impl::meta_int(const std::string& key, int64_t fallback) const {
  const std::string text = meta(key);
  if (text.empty()) return fallback;
  int64_t v = 0;
  bool ok = text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
  for (char c : text) v = v * 10 + (c - '0');  // at most 18 digits: no overflow
  if (!ok)
    throw Error(path.string() + ": the library's meta value '" + key + "' is damaged (\"" + text.substr(0, 40) +
                "\" is not a non-negative integer)");
  return v;
}

int64_t Library::Impl::generation() const { return meta_int("generation", 0); }
void Library::Impl::bump_generation() {
  generation();  // a damaged value is an error, not a 0 to count from
  // In one statement: concurrent writers of a shared (PostgreSQL) library never both write the same number,
  // and the row stays locked until the commit.
  conn->exec("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'generation'");
}

Library::Library(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Library::Library(Library&&) noexcept = default;
Library& Library::operator=(Library&&) noexcept = default;
Library::~Library() = default;

Library Library::open(const std::filesystem::path& db_path, bool writable) {
  LibraryOpenOptions o;
  o.writable = writable;
  o.create = writable;
  return open(db_path, o);
}

Library Library::open(const std::filesystem::path& db_path, const LibraryOpenOptions& options) {
  auto impl = std::make_unique<Impl>();
  {
    // A libpq key=value string is not a file name: it would become a SQLite file named after it, password
    // and all.
    const std::string text = db_path.string();
    if (!db::is_postgres_uri(text) && (text.find("dbname=") != std::string::npos || text.find("password=") != std::string::npos ||
                                       text.rfind("host=", 0) == 0))
      throw Error("--db: a PostgreSQL server is given as a postgresql:// URI (a key=value string is not taken)");
  }
  if (db::is_postgres_uri(db_path.string())) {
    impl->open_postgres(db_path.string(), options);
    return Library(std::move(impl));
  }
  const bool writable = options.writable;
  impl->path = db_path;
  impl->local_base = db_path;
  impl->writable = writable;
  const bool create = writable && options.create;
  if (!create && !std::filesystem::exists(db_path))
    throw Error(db_path.string() + ": no library here yet (run `xsearch ingest FOLDER` first, or pass --db)");
  if (create && db_path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(db_path.parent_path(), ec);
    if (ec) throw Error(db_path.parent_path().string() + ": cannot create the library folder (" + ec.message() + ")");
  }
  // The writer lock comes before the database is created or migrated: two first runs cannot both create it.
  if (writable) impl->lock = std::make_unique<WriterLock>(db_path, options.wait, options.on_wait);
  impl->conn = db::open_sqlite(db_path.string(), writable ? (create ? db::Mode::Create : db::Mode::ReadWrite) : db::Mode::ReadOnly);
  auto& c = *impl->conn;
  auto schema_version = [&c] {
    auto version_stmt = c.prepare("PRAGMA user_version");
    version_stmt.step();
    return static_cast<int>(version_stmt.int64(0));
  };  // the statement is finalised on return: an open one would hold a read transaction
  // The version check also tells a damaged or foreign file apart early, with the path in the message.
  int version = schema_version();
  auto refuse_newer = [&](int v) {
    if (v > kSchemaVersion)
      throw Error(db_path.string() + ": library schema version " + std::to_string(v) +
                  " is newer than this xsearch supports (" + std::to_string(kSchemaVersion) + "): upgrade xsearch");
  };
  refuse_newer(version);
  if (writable) {
    // A new database gets 16 KiB pages: a clip row (a 2 KiB embedding of base models and its columns) does
    // not fit twice in SQLite's default 4 KiB page, so every clip took a page of its own (4.1 kB per clip
    // measured at 1M clips); seven fit in 16 KiB. The page size can only be chosen before the first table.
    if (version == 0) c.exec("PRAGMA page_size = 16384");
    c.exec("PRAGMA journal_mode = WAL");
    c.exec("PRAGMA synchronous = NORMAL");
    if (version < kSchemaVersion) {
      // One transaction for every step; the version is read again inside it, so that a writer without the
      // lock (an older xsearch) that migrated meanwhile is noticed. Foreign keys are off while tables are
      // rebuilt (the pragma has no effect inside a transaction) and checked before the commit.
      c.exec("PRAGMA foreign_keys = OFF");
      {
        db::Transaction t(c);
        version = schema_version();
        refuse_newer(version);
        for (int v = version; v < kSchemaVersion; ++v) c.exec(kMigrations[v]);
        auto check = c.prepare("PRAGMA foreign_key_check");
        if (check.step()) throw Error(db_path.string() + ": upgrading the library found clips without their video (nothing was changed)");
        c.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
        t.commit();
      }
    }
    c.exec("PRAGMA foreign_keys = ON");
    version = kSchemaVersion;
    // Runs still marked 'running' belong to processes that are gone: the writer lock proves that no other
    // xsearch writes this library now (a second Ctrl-C, a kill, a crash left them).
    c.prepare("UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?) WHERE status = 'running'")
        .bind(1, now_seconds())
        .run();
  } else if (version < kOldestReadable) {
    throw Error(db_path.string() + ": no library here yet (an empty database; run `xsearch ingest FOLDER` first)");
  }
  impl->schema = version;
  return Library(std::move(impl));
}

const std::filesystem::path& Library::path() const { return impl_->path; }

std::filesystem::path Library::index_path() const {
  std::filesystem::path p = impl_->local_base;
  return p.replace_extension(".index");
}

std::optional<ModelIdentity> Library::model() const {
  const std::string fp = impl_->meta("model_fingerprint");
  if (fp.empty()) return std::nullopt;
  ModelIdentity m;
  m.fingerprint = fp;
  m.name = impl_->meta("model_name");
  m.dim = impl_->meta_int("embedding_dim", 0);
  return m;
}

void Library::claim_model(const ModelIdentity& model) {
  db::Transaction t(*impl_->conn);
  const auto current = this->model();
  if (current) {
    if (current->fingerprint != model.fingerprint)
      throw Error(impl_->path.string() + ": this library was built with the model \"" + current->name +
                  "\"; \"" + model.name + "\" is a different model (use that model, or another --db)");
    if (current->name != model.name) impl_->set_meta("model_name", model.name);  // the same model moved
  } else {
    impl_->set_meta("model_name", model.name);
    impl_->set_meta("model_fingerprint", model.fingerprint);
    impl_->set_meta("embedding_dim", std::to_string(model.dim));
    impl_->set_meta("embedding_dtype", "float32");
  }
  t.commit();
}

std::optional<VideoRecord> Library::find_video(const std::string& path) const {
  auto s = impl_->conn->prepare(video_columns(impl_->schema) + "WHERE v.path = ?");
  s.bind(1, path);
  if (!s.step()) return std::nullopt;
  return read_video(s);
}

std::vector<VideoRecord> Library::find_by_fingerprint(const std::string& fingerprint) const {
  auto s = impl_->conn->prepare(video_columns(impl_->schema) + "WHERE v.fingerprint = ? AND v.status = 'indexed'");
  s.bind(1, fingerprint);
  std::vector<VideoRecord> out;
  while (s.step()) out.push_back(read_video(s));
  return out;
}

std::vector<VideoRecord> Library::videos() const {
  auto s = impl_->conn->prepare(video_columns(impl_->schema) + "ORDER BY v.path");
  std::vector<VideoRecord> out;
  while (s.step()) out.push_back(read_video(s));
  return out;
}

int64_t Library::video_count() const {
  const VideoCounts n = video_counts();
  return n.indexed + n.partial;
}

VideoCounts Library::video_counts() const {
  auto s = impl_->conn->prepare("SELECT status, count(*) FROM videos GROUP BY status");
  VideoCounts n;
  while (s.step()) {
    const std::string status = s.text(0);
    (status == "indexed" ? n.indexed : status == "partial" ? n.partial : n.failed) += s.int64(1);
  }
  return n;
}

std::string Library::uuid() const { return impl_->meta("uuid"); }

int64_t Library::clip_count() const {
  if (impl_->schema >= kFirstSchemaWithClipCount) return impl_->meta_int("clip_count", 0);
  auto s = impl_->conn->prepare("SELECT count(*) FROM clips");
  s.step();
  return s.int64(0);
}

int64_t Library::Impl::clips_up_to(int64_t max_id) const {
  if (schema >= kFirstSchemaWithClipCount) {
    // The stored count less the clips above max_id (few: those stored since an index file was written).
    auto above = conn->prepare("SELECT count(*) FROM clips WHERE id > ?");
    above.bind(1, max_id);
    above.step();
    return meta_int("clip_count", 0) - above.int64(0);
  }
  auto s = conn->prepare("SELECT count(*) FROM clips WHERE id <= ?");
  s.bind(1, max_id);
  s.step();
  return s.int64(0);
}

bool Library::Impl::has_removed_clips() const { return schema >= kFirstSchemaWithClipCount; }

namespace {

int64_t upsert_video(db::Connection& c, const VideoRecord& v, const char* status) {
  auto s = c.prepare(
      "INSERT INTO videos (path, size, mtime_ns, fingerprint, duration, fps, width, height, status, error, updated_at, dev) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET size = excluded.size, "
      "mtime_ns = excluded.mtime_ns, fingerprint = excluded.fingerprint, duration = excluded.duration, "
      "fps = excluded.fps, width = excluded.width, height = excluded.height, status = excluded.status, "
      "error = excluded.error, updated_at = excluded.updated_at, dev = excluded.dev RETURNING id");
  s.bind(1, v.path).bind(2, v.size).bind(3, v.mtime_ns).bind(4, v.fingerprint).bind(5, v.duration).bind(6, v.fps);
  s.bind(7, static_cast<int64_t>(v.width)).bind(8, static_cast<int64_t>(v.height)).bind(9, std::string(status));
  if (v.error.empty()) s.bind_null(10);
  else s.bind(10, v.error);
  s.bind(11, now_seconds());
  if (v.dev == 0) s.bind_null(12);
  else s.bind(12, v.dev);
  if (!s.step()) c.fail("cannot save " + v.path);
  const int64_t id = s.int64(0);
  s.reset();
  return id;
}

}  // namespace

Library::Saved Library::save_video(const VideoRecord& video, const std::vector<ClipData>& clips) {
  auto& c = *impl_->conn;
  db::Transaction t(c);
  // First: the generation's row lock orders the writers of a shared library, so that clip ids are given
  // in commit order (an index refreshed up to some id never misses a clip committed later below it).
  impl_->bump_generation();
  impl_->finish_claim(video.path);
  const int64_t id = upsert_video(c, video, video.status == "partial" ? "partial" : "indexed");
  Saved saved;
  saved.video_id = id;
  c.prepare("DELETE FROM clips WHERE video_id = ?").bind(1, id).run();
  auto insert = c.prepare("INSERT INTO clips (video_id, start, \"end\", embedding, prompt_tokens) VALUES (?, ?, ?, ?, ?) RETURNING id");
  for (const auto& clip : clips) {
    insert.bind(1, id).bind(2, clip.start).bind(3, clip.end);
    insert.bind_blob(4, clip.embedding.data(), clip.embedding.size() * sizeof(float));
    if (clip.prompt_tokens.empty()) insert.bind_null(5);
    else insert.bind_blob(5, clip.prompt_tokens.data(), clip.prompt_tokens.size() * sizeof(uint16_t));
    if (!insert.step()) c.fail("cannot save a clip of " + video.path);
    saved.clip_ids.push_back(insert.int64(0));
    insert.reset();
  }
  if (!clips.empty() && !clips[0].prompt_tokens.empty())
    impl_->set_meta("prompt_tokens", std::to_string(clips[0].prompt_tokens.size() / std::max<std::size_t>(1, clips[0].embedding.size())));
  t.commit();  drop_video_cache(media_base(), id);  // its old clips' thumbnails and renditions (new clips, new ids)
  return saved;
}

void Library::save_failure(const VideoRecord& video) {
  auto& c = *impl_->conn;
  db::Transaction t(c);
  impl_->finish_claim(video.path);
  const int64_t id = upsert_video(c, video, "failed");
  c.prepare("DELETE FROM clips WHERE video_id = ?").bind(1, id).run();
  if (c.changes() > 0) impl_->bump_generation();
  t.commit();  drop_video_cache(media_base(), id);
}

void Library::touch_video(int64_t id, int64_t size, int64_t mtime_ns, int64_t dev) {
  impl_->conn->prepare("UPDATE videos SET size = ?, mtime_ns = ?, dev = coalesce(nullif(?, 0), dev) WHERE id = ?")
      .bind(1, size).bind(2, mtime_ns).bind(3, dev).bind(4, id)
      .run();
}

void Library::move_video(int64_t id, const std::string& new_path, int64_t size, int64_t mtime_ns, int64_t dev) {
  auto& c = *impl_->conn;
  db::Transaction t(c);
  // A failed row at the destination path (an earlier attempt) gives way to the moved video.
  c.prepare("DELETE FROM videos WHERE path = ? AND id != ?").bind(1, new_path).bind(2, id).run();
  c.prepare("UPDATE videos SET path = ?, size = ?, mtime_ns = ?, dev = coalesce(nullif(?, 0), dev) WHERE id = ?")
      .bind(1, new_path).bind(2, size).bind(3, mtime_ns).bind(4, dev).bind(5, id)
      .run();
  t.commit();
}

void Library::remove_video(int64_t id) {
  auto& c = *impl_->conn;
  db::Transaction t(c);
  c.prepare("DELETE FROM videos WHERE id = ?").bind(1, id).run();
  impl_->bump_generation();
  t.commit();  drop_video_cache(media_base(), id);
}

int64_t Library::begin_run(const std::vector<std::string>& roots) {
  std::string joined;
  for (const auto& r : roots) joined += (joined.empty() ? "" : "\n") + r;
  auto s = impl_->conn->prepare("INSERT INTO runs (started_at, roots, status) VALUES (?, ?, 'running') RETURNING id");
  s.bind(1, now_seconds()).bind(2, joined);
  if (!s.step()) impl_->conn->fail("cannot record the run");
  const int64_t id = s.int64(0);
  s.reset();
  return id;
}

void Library::finish_run(int64_t run, const RunSummary& s, const std::string& status) {
  impl_->conn
      ->prepare("UPDATE runs SET finished_at = ?, status = ?, indexed = ?, clips = ?, unchanged = ?, moved = ?, removed = ?, "
                "failed = ? WHERE id = ?")
      .bind(1, now_seconds()).bind(2, status).bind(3, s.indexed).bind(4, s.clips).bind(5, s.unchanged).bind(6, s.moved)
      .bind(7, s.removed).bind(8, s.failed).bind(9, run)
      .run();
}

std::vector<ClipRow> Library::clips_by_id(const std::vector<int64_t>& ids) const {
  auto s = impl_->conn->prepare("SELECT c.id, c.video_id, v.path, c.start, c.\"end\" FROM clips c JOIN videos v ON v.id = c.video_id WHERE c.id = ?");
  std::vector<ClipRow> out;
  for (int64_t id : ids) {
    s.bind(1, id);
    if (s.step()) out.push_back({s.int64(0), s.int64(1), s.text(2), s.real(3), s.real(4)});
    s.reset();
  }
  return out;
}

std::vector<ClipRow> Library::clips_of_video(int64_t video_id) const {
  auto s = impl_->conn->prepare("SELECT c.id, c.video_id, v.path, c.start, c.\"end\" FROM clips c JOIN videos v ON v.id = c.video_id WHERE c.video_id = ? ORDER BY c.start");
  s.bind(1, video_id);
  std::vector<ClipRow> out;
  while (s.step()) out.push_back({s.int64(0), s.int64(1), s.text(2), s.real(3), s.real(4)});
  return out;
}

std::vector<float> Library::clip_embedding(int64_t clip_id) const {
  auto s = impl_->conn->prepare("SELECT embedding FROM clips WHERE id = ?");
  s.bind(1, clip_id);
  if (!s.step()) throw Error(impl_->path.string() + ": no clip " + std::to_string(clip_id));
  std::vector<float> v(static_cast<std::size_t>(s.blob_bytes(0)) / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), s.blob(0), v.size() * sizeof(float));
  return v;
}

std::vector<uint16_t> Library::clip_prompt_tokens(int64_t clip_id) const {
  auto s = impl_->conn->prepare("SELECT prompt_tokens FROM clips WHERE id = ?");
  s.bind(1, clip_id);
  std::vector<uint16_t> v;
  if (s.step() && !s.is_null(0)) {
    v.resize(static_cast<std::size_t>(s.blob_bytes(0)) / sizeof(uint16_t));
    std::memcpy(v.data(), s.blob(0), v.size() * sizeof(uint16_t));
  }
  return v;
}

int64_t Library::prompt_token_count() const { return impl_->meta_int("prompt_tokens", 0); }

}  // namespace xsearch
