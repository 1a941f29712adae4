// The PostgreSQL twin of sqlite.hpp (libpq): a connection, prepared statements with typed binds and columns,
// and transaction guards, with the same methods and semantics as Connection / Statement / Transaction /
// ReadTransaction so that the library code can run on either. Errors become xsearch::Error naming the server
// (never its password).
//
// Differences that callers must know:
// - SQL keeps SQLite's `?` (and `?NNN`) placeholders; they become $1, $2, ... outside quoted strings
//   ('..', E'..'), quoted identifiers and comments (-- and nested /* */). Dollar-quoted strings are not
//   recognised and PostgreSQL's jsonb operators `?`, `?|`, `?&` cannot be written in SQL given to
//   prepare(); exec() sends its SQL untouched.
// - Parameters and results travel in binary. The column getters decode integers (int2/int4/int8, bool, oid),
//   floats (float4/float8), numeric, text and bytea; cast any other type to text in the SQL (`col::text`).
// - Rows stream one at a time (libpq single-row mode). libpq runs one query at a time per connection, so
//   when a statement is stepped (or exec() runs) while another statement of the same connection is still
//   mid-stream, the first one's remaining rows are read into memory first and it goes on returning them
//   from there: nesting works as with SQLite, at the cost of memory for what the outer statement had left.
//   A loop that must stream a huge result should not run other statements on the same connection.
// - There is no last_insert_rowid(): use INSERT ... RETURNING id.
// - A statement must not outlive its connection.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "pg_round_trip.hpp"

namespace xsearch::db {

class PgStatement;

class PgConnection {
 public:
  // conninfo: a postgresql:// URI or a "key=value ..." string. A connect_timeout of 10 s applies unless the
  // string (or PGCONNECT_TIMEOUT) sets one. application_name: what pg_stat_activity shows, unless the
  // string sets one.
  explicit PgConnection(const std::string& conninfo, const char* application_name = "xsearch");
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one or more statements (no placeholders, results discarded).
  void exec(const std::string& sql);
  PgStatement prepare(const std::string& sql);
  // Rows changed by the last INSERT / UPDATE / DELETE / MERGE run through this connection (like
  // sqlite3_changes: other statements leave it as it was).
  int changes() const { return changes_; }
  // The server without the password, as a URI: "postgresql://user@host:port/dbname" (a socket folder
  // goes into ?host=).
  const std::string& path() const { return path_; }
  PGconn* handle() { return conn_; }
  // The first 80 characters of a statement, on one line, for error messages (as Connection::excerpt).
  static std::string excerpt(const std::string& sql);
  // Throws "path: what: <the connection's last error>".
  [[noreturn]] void fail(const std::string& what) const;
  // Bounds every wait for the server's answer from now on (pg_round_trip.hpp): past `limit`, or 0.5 s after
  // `stop` (which must not throw) first says yes, the connection is given up, and that statement and every
  // one after it fail with "no answer from the PostgreSQL server within N s". A read-only query abandoned
  // midway is then read to its end (bounded too) rather than cancelled: PQcancel has no time limit.
  void limit_round_trips(std::chrono::milliseconds limit, std::function<bool()> stop);

 private:
  friend class PgStatement;
  friend class PgTransaction;
  friend class PgReadTransaction;
  // Before anything else is sent: the statement still streaming (if any) reads the rest of its rows.
  void settle();
  // exec() that returns the command tag of the last statement ("COMMIT", "ROLLBACK", ...).
  std::string exec_tag(const std::string& sql);
  // Runs sql ignoring every error (destructors).
  void exec_quietly(const char* sql) noexcept;
  [[noreturn]] void fail_result(const std::string& what, PGresult* r) const;
  void note_changes(const PGresult* r);
  // Waits for the answer within the limit (at once true without one); false once the connection is given up.
  bool await_answer() noexcept;
  // PQexec, its waits bounded as await_answer's; nullptr once the connection is given up.
  PGresult* exec_result(const char* sql) noexcept;
  // Reads and drops results until the connection is idle again.
  void drain() noexcept;

  PGconn* conn_ = nullptr;
  std::string path_;
  int changes_ = 0;
  PgStatement* streaming_ = nullptr;  // the statement whose rows the connection is delivering, if any
  std::chrono::milliseconds limit_{0};  // 0: waits unbounded (libpq's own)
  std::function<bool()> stop_;
  StopSeen stop_seen_;  // the stop's total (kStopTotal) counts across this connection's round trips
  std::string given_up_;  // why the connection was given up ("" while it is in use)
};

class PgStatement {
 public:
  PgStatement(PgConnection& c, const std::string& sql);
  ~PgStatement();
  PgStatement(PgStatement&& o) noexcept;
  PgStatement(const PgStatement&) = delete;
  PgStatement& operator=(const PgStatement&) = delete;
  PgStatement& operator=(PgStatement&&) = delete;

  // 1-based like SQLite. A value stays bound across step()/run() until reset(); unbound parameters are NULL.
  PgStatement& bind(int index, int64_t v);
  PgStatement& bind(int index, double v);
  PgStatement& bind(int index, const std::string& v);
  PgStatement& bind_blob(int index, const void* data, std::size_t bytes);
  PgStatement& bind_null(int index);
  // Sends the statement on the first call, then advances; true while a row is available. After it returned
  // false, the next call runs the statement again (as sqlite3_step does).
  bool step();
  // Runs to completion (for statements without results), then reset().
  void run();
  // Abandons the remaining rows (a read-only query running outside a transaction is cancelled on the
  // server, anything else is read to its end so that its effects stay) and clears the bindings.
  void reset();

  // The current row's columns (0-based). NULL reads as 0, 0.0, "" and (nullptr, 0) as with SQLite. Asking
  // without a current row or past the last column throws.
  int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;
  const void* blob(int col) const;
  int blob_bytes(int col) const;

 private:
  friend class PgConnection;
  struct Param {
    Oid type = 0;  // 0: NULL / unbound, the server infers the type
    bool null = true;
    std::string bytes;
  };
  enum class State { Idle, Streaming, Buffered, Done };

  struct Cell {
    const char* p;
    int len;
    Oid type;
    bool null;
  };
  Param& param(int index);
  PgStatement& set(int index, Oid type, std::string bytes);
  void start();
  // Reads the rest of this statement's results off the connection into pending_ (another statement is
  // about to use the connection).
  void buffer_rest() noexcept;
  // Drops the rest of this statement's results from the connection, cancelling the query when that is safe.
  void discard_rest() noexcept;
  void clear_results() noexcept;
  Cell cell(int col) const;

  PgConnection* c_;
  std::string sql_;     // as given, for error messages
  std::string pg_sql_;  // with $n placeholders
  std::vector<Param> params_;
  State state_ = State::Idle;
  bool cancellable_ = false;              // a read-only query outside a transaction: cancel to abandon it
  PGresult* row_ = nullptr;               // the current row (a single-row result)
  std::deque<PGresult*> pending_;         // rows read ahead by buffer_rest()
  std::string pending_error_;             // the error that ended the buffered rows, if any
};

// BEGIN ... COMMIT, rolled back by the destructor unless commit() ran. commit() throws when the server
// rolled back instead (an earlier statement of the transaction had failed).
class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& c);
  ~PgTransaction();
  void commit();

 private:
  PgConnection& c_;
  bool done_ = false;
};

// BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY ... COMMIT: the statements in between read one snapshot,
// however other connections commit meanwhile; writes inside it fail.
class PgReadTransaction {
 public:
  explicit PgReadTransaction(PgConnection& c);
  ~PgReadTransaction();

 private:
  PgConnection& c_;
};

}  // namespace xsearch::db
