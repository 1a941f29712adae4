// Libraries on both backends for tests: a SQLite file, or a database on the test's PostgreSQL server
// (pg_server.hpp), and one value of a query on either.
#pragma once

#include <cstdlib>
#include <string>

#include "../index/db/database.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"
#include "pg_server.hpp"

namespace xsearch::test {

// A fresh library location of the backend ("sqlite" or "postgres"): a file in `tmp`, or a new database on
// the test server as a postgresql:// URI.
inline std::string new_library(const std::string& backend, const fs::path& tmp) {
  if (backend == "sqlite") return (tmp / "lib.db").string();
  auto& server = PgServer::shared();
  const std::string conninfo = server.create_database();
  const auto at = conninfo.find("dbname=") + 7;
  const std::string dbname = conninfo.substr(at, conninfo.find(' ', at) - at);
  return "postgresql://postgres@/" + dbname + "?host=" + server.socket_dir() + "&port=" + std::to_string(server.port());
}

// One value of `sql` on the library's database (test checks only).
inline std::string sql_value(const std::string& db, const std::string& sql) {
  if (db.rfind("postgresql://", 0) != 0) return sqlite_value(db, sql);
  auto c = db::open_postgres(db);
  auto s = c->prepare(sql);
  return s.step() ? s.text(0) : "";
}

// Sets an environment variable for a scope.
struct ScopedEnv {
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  const char* name_;
};

}  // namespace xsearch::test
