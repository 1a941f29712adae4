// Library's private state, shared by library.cpp (SQLite) and vector_index.cpp (FAISS).
#pragma once

#include <faiss/Index.h>

#include <memory>

#include "exact_file.hpp"
#include "sqlite.hpp"
#include "xsearch/library.hpp"

namespace xsearch {

struct Library::Impl {
  std::filesystem::path path;
  bool writable = false;
  std::unique_ptr<db::Connection> conn;
  // The index for `index_generation`: an exact file (mapped) or a FAISS IVF index (loaded).
  std::unique_ptr<ExactFile> exact;
  std::unique_ptr<faiss::Index> index;
  int64_t index_generation = -1;

  std::string meta(const std::string& key, const std::string& fallback = "") const;
  void set_meta(const std::string& key, const std::string& value);
  int64_t generation() const;
  void bump_generation();
};

}  // namespace xsearch
