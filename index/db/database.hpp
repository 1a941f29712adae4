// The library's database, whichever it is: SQLite (a file, the default) or PostgreSQL (a server shared by
// many machines). One small interface, a connection with prepared statements, typed binds and columns and
// transactions, so that the library's code holds its SQL once. Statements are written with `?`
// placeholders; the PostgreSQL side numbers them. Errors become xsearch::Error naming the database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace xsearch::db {

// ReadOnly and ReadWrite need an existing database; Create makes one when it is missing.
enum class Mode { ReadOnly, ReadWrite, Create };
enum class Backend { Sqlite, Postgres };

// One backend's prepared statement (see Statement).
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void bind_int64(int index, int64_t v) = 0;
  virtual void bind_double(int index, double v) = 0;
  virtual void bind_text(int index, const std::string& v) = 0;
  virtual void bind_blob(int index, const void* data, std::size_t bytes) = 0;
  virtual void bind_null(int index) = 0;
  virtual bool step() = 0;
  virtual void reset() = 0;
  virtual int64_t int64(int col) const = 0;
  virtual double real(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual bool is_null(int col) const = 0;
  virtual const void* blob(int col) const = 0;
  virtual int blob_bytes(int col) const = 0;
};

class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementImpl> impl) : impl_(std::move(impl)) {}
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  Statement& bind(int index, int64_t v) { return impl_->bind_int64(index, v), *this; }
  Statement& bind(int index, double v) { return impl_->bind_double(index, v), *this; }
  Statement& bind(int index, const std::string& v) { return impl_->bind_text(index, v), *this; }
  Statement& bind_blob(int index, const void* data, std::size_t bytes) { return impl_->bind_blob(index, data, bytes), *this; }
  Statement& bind_null(int index) { return impl_->bind_null(index), *this; }
  // Advances; true while a row is available.
  bool step() { return impl_->step(); }
  // Runs to completion (for statements without results), then resets.
  void run() {
    while (step()) {
    }
    reset();
  }
  // Ready to run again; bindings cleared.
  void reset() { impl_->reset(); }

  int64_t int64(int col) const { return impl_->int64(col); }
  double real(int col) const { return impl_->real(col); }
  std::string text(int col) const { return impl_->text(col); }
  bool is_null(int col) const { return impl_->is_null(col); }
  const void* blob(int col) const { return impl_->blob(col); }
  int blob_bytes(int col) const { return impl_->blob_bytes(col); }

 private:
  std::unique_ptr<StatementImpl> impl_;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Backend backend() const = 0;
  // One or more statements without results.
  virtual void exec(const std::string& sql) = 0;
  virtual Statement prepare(const std::string& sql) = 0;
  // Rows changed by the last statement run.
  virtual int changes() const = 0;
  // The database for messages: a file path, or a server without its password.
  virtual const std::string& path() const = 0;
  // Transactions: a write transaction takes the database's write lock at once (SQLite's BEGIN IMMEDIATE);
  // a read transaction reads one snapshot.
  virtual void begin_write() = 0;
  virtual void begin_read() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  [[noreturn]] virtual void fail(const std::string& what) const = 0;
  // PostgreSQL: bounds every wait for the server's answer from now on, as open_postgres_bounded below.
  // SQLite: nothing (a local file; its lock waits have their own busy timeout).
  virtual void limit_round_trips(std::chrono::milliseconds limit, std::function<bool()> stop) {
    (void)limit;
    (void)stop;
  }
  // The first 80 characters of a statement, on one line, for error messages.
  static std::string excerpt(const std::string& sql);
};

// SQLite: the file at `path`.
std::unique_ptr<Connection> open_sqlite(const std::string& path, Mode mode);
// PostgreSQL: a `postgresql://` URI or a libpq key=value string.
std::unique_ptr<Connection> open_postgres(const std::string& conninfo);
// The same, each wait for the server's answer bounded (postgres.hpp's limit_round_trips): past `limit`, or
// soon after `stop` says yes, the connection is given up and its statements fail with "no answer from the
// PostgreSQL server within N s". application_name: how pg_stat_activity shows it.
std::unique_ptr<Connection> open_postgres_bounded(const std::string& conninfo, const char* application_name, std::chrono::milliseconds limit,
                                                  std::function<bool()> stop);
// Whether a --db value names a PostgreSQL server rather than a file.
bool is_postgres_uri(const std::string& db);

// The integer in the first column of the first row of `sql`, for queries that always give one row
// (SELECT coalesce(max(id), 0) ...).
inline int64_t single_int(Connection& c, const std::string& sql) {
  Statement s = c.prepare(sql);
  s.step();
  return s.int64(0);
}

// A write transaction, rolled back by the destructor unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) { c_.begin_write(); }
  ~Transaction() {
    if (!done_) c_.rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    c_.commit();
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

// A read transaction: the statements in between read one snapshot, however writers commit meanwhile.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& c) : c_(c) { c_.begin_read(); }
  ~ReadTransaction() { c_.rollback(); }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Connection& c_;
};

}  // namespace xsearch::db
