// Opening a library: the SQLite schema and its migrations, the writer lock, the real path behind a
// symlink (the lock, the index and the media cache are derived from it), and read-only folders. The
// PostgreSQL side is library_postgres.cpp; the rows are library.cpp.
#include <unistd.h>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include "library_impl.hpp"
#include "db/sqlite.hpp"
#include "xsearch/error.hpp"

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
    // 4 -> 5: exclusions remembered per root (`ingest --exclude GLOB`, `xsearch exclude`): every later
    // ingest or watch of that root, or of a folder under it, skips what they match (library_exclusions.cpp).
    R"(CREATE TABLE exclusions (root TEXT NOT NULL, pattern TEXT NOT NULL, added_at INTEGER NOT NULL, PRIMARY KEY (root, pattern));)",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);
// The oldest schema a read-only open can read (queries need only columns that version 1 has; `dev` reads
// as unknown before version 3).
constexpr int kOldestReadable = 1;

// The file behind `db`: symlinks resolved, a dangling one (a library not created yet) followed to where
// SQLite would create the file. Made absolute; a path that cannot be resolved is taken as it is.
std::filesystem::path real_library_path(const std::filesystem::path& db) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(db, ec);
  if (ec) return db;
  for (int hops = 0; hops < 40; ++hops) {  // 40: the kernel's own limit on symlinks in one lookup
    const fs::path resolved = fs::weakly_canonical(p, ec);
    if (ec) return p;
    if (!fs::is_symlink(fs::symlink_status(resolved, ec))) return resolved;
    const fs::path target = fs::read_symlink(resolved, ec);  // dangling: weakly_canonical stops at it
    if (ec) return resolved;
    p = target.is_absolute() ? target : resolved.parent_path() / target;
  }
  return p;
}

// A read-only open of a database whose folder cannot be written (a read-only mount, a copy on a disc, a
// folder of mode 0555): SQLite cannot create the -shm file that a WAL database needs, and failed with
// "unable to open database file". When nobody can write there (a read-only file system, a folder without
// any write permission) and no write-ahead log waits to be replayed, the file is the whole library and is
// opened immutable (no -shm, no locks). Otherwise (a log with changes, or a folder that its owner may still
// write: immutable would read pages mid-change) the normal open is tried, and its failure names the cause.
struct ReadOnlyFolder {
  bool immutable = false;
  std::string why;  // the cause to name when the normal open fails; empty when the folder is writable
};

ReadOnlyFolder read_only_folder(const std::filesystem::path& db) {
  ReadOnlyFolder out;
  const std::filesystem::path folder = db.has_parent_path() ? db.parent_path() : std::filesystem::path(".");
  if (::access(folder.c_str(), W_OK) == 0) return out;  // also EROFS for root on a read-only mount
  struct statvfs fs {};
  struct stat dir {};
  const bool nobody_writes = (::statvfs(folder.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY)) ||
                             (::stat(folder.c_str(), &dir) == 0 && (dir.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0);
  struct stat wal {};
  const std::string wal_path = db.string() + "-wal";
  const bool pending = ::stat(wal_path.c_str(), &wal) == 0 && wal.st_size > 0;
  if (nobody_writes && !pending) {
    out.immutable = true;
    return out;
  }
  out.why = pending ? "the library's folder cannot be written and " + wal_path +
                          " holds changes not yet in the database; open the library once where its folder can be written "
                          "(or copy it, with that file, to such a folder)"
                    : "this user cannot write the library's folder, where SQLite must create " + db.string() +
                          "-shm to read it while its owner may write it (read it as the owner, or from a copy)";
  return out;
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

std::optional<ModelIdentity> Library::recorded_model(const std::filesystem::path& db) {
  try {
    return open(db, false).model();
  } catch (const NoLibraryYet&) {
    return std::nullopt;
  }
}

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
  impl->path = db_path;  // as the user named it: messages name what they typed
  // The lock, the index and the media cache are derived from the real file: through a symlink (alias.db ->
  // lib.db) they would otherwise be alias.db.lock, alias.index and alias.db.thumbs, a second writer lock
  // that lets two writers in and a second cache beside the link.
  const std::filesystem::path real = real_library_path(db_path);
  impl->local_base = real;
  impl->writable = writable;
  const bool create = writable && options.create;
  if (!create && !std::filesystem::exists(real))
    throw NoLibraryYet(db_path.string() + ": no library here yet (run `xsearch ingest FOLDER` first, or pass --db)");
  if (create && real.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(real.parent_path(), ec);
    if (ec) throw Error(real.parent_path().string() + ": cannot create the library folder (" + ec.message() + ")");
  }
  // The writer lock comes before the database is created or migrated: two first runs cannot both create it.
  if (writable) impl->lock = std::make_unique<WriterLock>(real, options.wait, options.on_wait);
  const ReadOnlyFolder ro = writable ? ReadOnlyFolder{} : read_only_folder(real);
  impl->conn = ro.immutable ? db::open_sqlite_immutable(real.string())
                            : db::open_sqlite(real.string(), writable ? (create ? db::Mode::Create : db::Mode::ReadWrite) : db::Mode::ReadOnly);
  auto& c = *impl->conn;
  auto schema_version = [&c] {
    auto version_stmt = c.prepare("PRAGMA user_version");
    version_stmt.step();
    return static_cast<int>(version_stmt.int64(0));
  };  // the statement is finalised on return: an open one would hold a read transaction
  // The version check also tells a damaged or foreign file apart early, with the path in the message.
  int version = 0;
  try {
    version = schema_version();
  } catch (const Error& e) {
    if (!ro.why.empty()) throw Error(db_path.string() + ": " + ro.why + " (" + e.what() + ")");
    throw;
  }
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
    throw NoLibraryYet(db_path.string() + ": no library here yet (an empty database; run `xsearch ingest FOLDER` first)");
  }
  impl->schema = version;
  return Library(std::move(impl));
}

}  // namespace xsearch
