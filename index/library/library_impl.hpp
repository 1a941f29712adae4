// Library's private state, shared by library.cpp (SQLite) and vector_index.cpp (the index files).
#pragma once

#include <faiss/Index.h>

#include <chrono>
#include <memory>
#include <mutex>

#include "vectors/exact_file.hpp"
#include "vectors/index_header.hpp"
#include "vectors/list_index.hpp"
#include "db/database.hpp"
#include "writer_lock.hpp"
#include "xsearch/error.hpp"
#include "xsearch/library.hpp"

namespace xsearch {

// Unix time in seconds (runs, video rows).
inline int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "No library here yet" (no file, an empty database, a server without the tables): the one open error that
// a first ingest may take for "nothing recorded" (Library::recorded_model). Every other open error (a
// damaged file, a read-only or full folder, a server that refuses) is reported as it is.
class NoLibraryYet : public Error {
 public:
  using Error::Error;
};

// The first schema with removed_clips and the stored clip count (SQLite's version 4; PostgreSQL's first).
constexpr int kFirstSchemaWithClipCount = 4;
// The first schema with the exclusions table (both backends' version 5).
constexpr int kFirstSchemaWithExclusions = 5;

struct Library::Impl {
  std::filesystem::path path;  // the database file, or the server (without password) of a shared library
  bool writable = false;
  bool shared = false;  // on a PostgreSQL server: many writers, claims; index and thumbnails cached locally
  // Where the index files and the thumbnails go: the database file's own path (LIBRARY.index,
  // LIBRARY.thumbs beside it), or a shared library's folder in the user's cache.
  std::filesystem::path local_base;
  // Shared ingest: the server (kept to open the claims connection), this worker's id and lease, and the
  // connection the claims use (the decoder thread's), under its mutex.
  std::string conninfo;
  std::string worker;
  int lease_seconds = 60;
  std::unique_ptr<db::Connection> claims;
  std::mutex claims_mutex;
  int schema = 0;  // the database's schema version (the current one once opened for writing)
  std::unique_ptr<WriterLock> lock;  // held by a writable library (declared first: released last)
  std::unique_ptr<db::Connection> conn;
  // The last index file loaded: an exact file (mapped) or a FAISS IVF index, with its header.
  std::unique_ptr<ExactFile> exact;
  std::unique_ptr<faiss::Index> index;
  std::unique_ptr<ListIndex> lists;  // the lists kind with its added-clips file
  IndexHeader header;                // of the pair for the lists kind (ListIndex::combined)
  bool have_index = false;
  std::string index_note;
  std::string index_stamp;  // device, inode, size and mtime of the file last loaded (or rejected)

  void open_postgres(const std::string& conninfo, const LibraryOpenOptions& options);
  std::string meta(const std::string& key, const std::string& fallback = "") const;
  // A meta value that must be a non-negative integer; a damaged one is a clear error naming the key.
  int64_t meta_int(const std::string& key, int64_t fallback) const;
  void set_meta(const std::string& key, const std::string& value);
  int64_t generation() const;
  // Clips with id <= max_id (from the stored clip count where the schema has it: no table scan).
  int64_t clips_up_to(int64_t max_id) const;
  // Whether the database records the ids of deleted clips (removed_clips, schema 4).
  bool has_removed_clips() const;
  void bump_generation();
  // Shared ingest: ends this worker's claim on a video it stores (inside the storing transaction).
  void finish_claim(const std::string& video_path);
  void drop_index();
};

}  // namespace xsearch
