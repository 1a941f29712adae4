// Library's private state, shared by library.cpp (SQLite) and vector_index.cpp (the index files).
#pragma once

#include <faiss/Index.h>

#include <memory>

#include "exact_file.hpp"
#include "index_header.hpp"
#include "list_index.hpp"
#include "database.hpp"
#include "writer_lock.hpp"
#include "xsearch/library.hpp"

namespace xsearch {

struct Library::Impl {
  std::filesystem::path path;
  bool writable = false;
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
  void drop_index();
};

}  // namespace xsearch
