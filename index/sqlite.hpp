// A thin RAII layer over SQLite: a connection, prepared statements with typed binds and columns, and a
// transaction guard that rolls back unless committed. Errors become xsearch::Error naming the database.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

namespace xsearch::db {

class Statement;

// ReadOnly and ReadWrite need an existing database; Create makes one when it is missing.
enum class Mode { ReadOnly, ReadWrite, Create };

class Connection {
 public:
  Connection(const std::string& path, Mode mode);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(const std::string& sql);
  Statement prepare(const std::string& sql);
  int64_t last_insert_rowid() const;
  int changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }
  // The first 80 characters of a statement, on one line, for error messages.
  static std::string excerpt(const std::string& sql);
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(Connection& c, const std::string& sql);
  ~Statement();
  Statement(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t v);
  Statement& bind(int index, double v);
  Statement& bind(int index, const std::string& v);
  Statement& bind_blob(int index, const void* data, std::size_t bytes);
  Statement& bind_null(int index);
  // Advances; true while a row is available.
  bool step();
  // Runs to completion (for statements without results).
  void run();
  void reset();

  int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;
  const void* blob(int col) const;
  int blob_bytes(int col) const;

 private:
  Connection* c_;
  sqlite3_stmt* s_ = nullptr;
  std::string sql_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back by the destructor unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Connection& c);
  ~Transaction();
  void commit();

 private:
  Connection& c_;
  bool done_ = false;
};

// BEGIN (deferred) ... COMMIT: the statements in between read one snapshot of the database (WAL), however
// a writer commits meanwhile. Takes no write lock.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& c);
  ~ReadTransaction();

 private:
  Connection& c_;
};

}  // namespace xsearch::db
