// The library's rows: videos, clips with their embeddings, runs (the same statements on SQLite and
// PostgreSQL). Opening it (schema, migrations, locks) is library_open.cpp.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "library_impl.hpp"
#include "xsearch/error.hpp"
#include "xsearch/media_cache.hpp"

namespace xsearch {

namespace {

constexpr int kFirstWithDevice = 3;


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

// The advisory lock class of ingest runs on PostgreSQL (the second key is the run's id); another number
// than library_postgres.cpp's creation lock (a one-key lock, in another space anyway).
constexpr int kRunLockClass = 7306199;

// `s` with each byte that is not part of well-formed UTF-8 written as \xHH.
std::string utf8_or_escaped(const std::string& s) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    // The length of a well-formed sequence starting here (0: none), by RFC 3629's table.
    std::size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    if (len > 1 && i + len <= n) {
      const unsigned char c1 = p[i + 1];
      bool ok = c == 0xe0 ? (c1 >= 0xa0 && c1 <= 0xbf) : c == 0xed ? (c1 >= 0x80 && c1 <= 0x9f)
                : c == 0xf0 ? (c1 >= 0x90 && c1 <= 0xbf) : c == 0xf4 ? (c1 >= 0x80 && c1 <= 0x8f)
                                                                    : (c1 >= 0x80 && c1 <= 0xbf);
      for (std::size_t k = 2; ok && k < len; ++k) ok = p[i + k] >= 0x80 && p[i + k] <= 0xbf;
      if (!ok) len = 0;
    } else if (len > 1) {
      len = 0;
    }
    if (len == 0) {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
      continue;
    }
    out.append(s, i, len);
    i += len;
  }
  return out;
}

}  // namespace

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
  const int64_t id = upsert_video(c, video, video.status == "partial" ? "partial" : "indexed");
  Saved saved;
  saved.video_id = id;
  c.prepare("DELETE FROM clips WHERE video_id = ?").bind(1, id).run();
  // Many clips per statement: on a shared library's server, each statement is a round trip, made while
  // this save holds the generation's row lock (every other writer waits on it). 5 parameters a row, under
  // SQLite's oldest limit of 999 a statement.
  constexpr std::size_t kClipsPerInsert = 150;
  for (std::size_t first = 0; first < clips.size(); first += kClipsPerInsert) {
    const std::size_t rows = std::min(kClipsPerInsert, clips.size() - first);
    std::string sql = "INSERT INTO clips (video_id, start, \"end\", embedding, prompt_tokens) VALUES ";
    for (std::size_t r = 0; r < rows; ++r) sql += r == 0 ? "(?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?)";
    auto insert = c.prepare(sql + " RETURNING id");
    for (std::size_t r = 0; r < rows; ++r) {
      const ClipData& clip = clips[first + r];
      const int p = static_cast<int>(5 * r);
      insert.bind(p + 1, id).bind(p + 2, clip.start).bind(p + 3, clip.end);
      insert.bind_blob(p + 4, clip.embedding.data(), clip.embedding.size() * sizeof(float));
      if (clip.prompt_tokens.empty()) insert.bind_null(p + 5);
      else insert.bind_blob(p + 5, clip.prompt_tokens.data(), clip.prompt_tokens.size() * sizeof(uint16_t));
    }
    std::vector<int64_t> ids;
    while (insert.step()) ids.push_back(insert.int64(0));
    insert.reset();
    if (ids.size() != rows) c.fail("cannot save the clips of " + video.path);
    // The ids are given in the rows' order (one statement, under the generation's lock); the order in which
    // RETURNING lists them is not promised by either database.
    std::sort(ids.begin(), ids.end());
    saved.clip_ids.insert(saved.clip_ids.end(), ids.begin(), ids.end());
  }
  if (!clips.empty() && !clips[0].prompt_tokens.empty())
    impl_->set_meta("prompt_tokens", std::to_string(clips[0].prompt_tokens.size() / std::max<std::size_t>(1, clips[0].embedding.size())));
  // Last: the claim's row and the worker's row stay locked from here to the commit, and the heartbeat
  // (another connection, its round trips bounded by the lease) renews them. Taken first, a long video's
  // clip inserts on a distant server would hold the heartbeat past the lease.
  impl_->finish_claim(video.path);
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
  // PostgreSQL's text is UTF-8 only: a root named otherwise failed this insert and with it the whole
  // ingest (its files are that run's failures instead, shared_work.hpp). The record is for reading.
  if (impl_->shared) joined = utf8_or_escaped(joined);
  auto& c = *impl_->conn;
  if (impl_->shared) {
    // A run holds a session lock on its id while its process lives (below): a run still 'running' whose
    // lock is free ended without a word (killed, its machine lost, the server restarted) and is marked
    // interrupted, as SQLite's next writer does under its writer lock. The lock taken to test it is the
    // transaction's, released at the commit; a live run's own session lock makes the test fail.
    db::Transaction t(c);
    c.prepare("UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?) WHERE status = 'running' AND "
              "pg_try_advisory_xact_lock(" + std::to_string(kRunLockClass) + ", CAST(id % 2147483648 AS INTEGER))")
        .bind(1, now_seconds())
        .run();
    t.commit();
  }
  auto s = c.prepare("INSERT INTO runs (started_at, roots, status) VALUES (?, ?, 'running') RETURNING id");
  s.bind(1, now_seconds()).bind(2, joined);
  if (!s.step()) c.fail("cannot record the run");
  const int64_t id = s.int64(0);
  s.reset();
  // Held by this connection until it closes, however the process ends (PostgreSQL ends the session).
  if (impl_->shared) c.exec("SELECT pg_advisory_lock(" + std::to_string(kRunLockClass) + ", " + std::to_string(id % 2147483648) + ")");
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

void Library::scan_clips(const std::function<void(const ClipRow& clip, const float* embedding)>& visit) const {
  const auto m = model();
  if (!m) return;
  auto& c = *impl_->conn;
  db::ReadTransaction snapshot(c);  // the rows and their embeddings of one moment
  auto s = c.prepare("SELECT c.id, c.video_id, v.path, c.start, c.\"end\", c.embedding FROM clips c JOIN videos v ON v.id = c.video_id ORDER BY c.id");
  while (s.step()) {
    const ClipRow row{s.int64(0), s.int64(1), s.text(2), s.real(3), s.real(4)};
    if (s.blob_bytes(5) != static_cast<int>(m->dim * static_cast<int64_t>(sizeof(float))))
      throw Error(impl_->path.string() + ": clip " + std::to_string(row.id) + " has an embedding of the wrong size");
    visit(row, static_cast<const float*>(s.blob(5)));
  }
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
