// The SQLite backend of the library's database (database.hpp): a file, WAL, one writer at a time.
#pragma once

#include "database.hpp"

#include <memory>
#include <string>

namespace xsearch::db {

// A database in a folder that cannot be written, opened read-only with SQLite's immutable=1: no -shm
// file, no locks. Only for a file that nothing can change meanwhile (library_open.cpp says when).
std::unique_ptr<Connection> open_sqlite_immutable(const std::string& path);

}  // namespace xsearch::db
