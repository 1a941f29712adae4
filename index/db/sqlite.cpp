// SQLite behind database.hpp: a thin RAII layer over the C API. Errors name the database file and the
// statement; a damaged file says so.
#include <sqlite3.h>

#include <cctype>
#include <cstring>

#include "sqlite.hpp"
#include "xsearch/error.hpp"

namespace xsearch::db {

namespace {

class SqliteConnection;

class SqliteStatement : public StatementImpl {
 public:
  SqliteStatement(SqliteConnection& c, const std::string& sql);
  ~SqliteStatement() override { sqlite3_finalize(s_); }

  void bind_int64(int i, int64_t v) override { check_bind(sqlite3_bind_int64(s_, i, v)); }
  void bind_double(int i, double v) override { check_bind(sqlite3_bind_double(s_, i, v)); }
  void bind_text(int i, const std::string& v) override {
    check_bind(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  void bind_blob(int i, const void* data, std::size_t bytes) override {
    check_bind(sqlite3_bind_blob(s_, i, data, static_cast<int>(bytes), SQLITE_TRANSIENT));
  }
  void bind_null(int i) override { check_bind(sqlite3_bind_null(s_, i)); }
  bool step() override;
  void reset() override {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t int64(int col) const override { return sqlite3_column_int64(s_, col); }
  double real(int col) const override { return sqlite3_column_double(s_, col); }
  std::string text(int col) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  bool is_null(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  const void* blob(int col) const override { return sqlite3_column_blob(s_, col); }
  int blob_bytes(int col) const override { return sqlite3_column_bytes(s_, col); }

 private:
  void check_bind(int rc);
  SqliteConnection* c_;
  sqlite3_stmt* s_ = nullptr;
  std::string sql_;
};

class SqliteConnection : public Connection {
 public:
  // `uri`: a file: URI naming `path` (its parameters say how to open it); messages name `path`.
  SqliteConnection(const std::string& path, Mode mode, const std::string& uri = "") : path_(path) {
    const int flags = (mode == Mode::ReadOnly    ? SQLITE_OPEN_READONLY
                       : mode == Mode::ReadWrite ? SQLITE_OPEN_READWRITE
                                                 : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
                      (uri.empty() ? 0 : SQLITE_OPEN_URI);
    if (sqlite3_open_v2(uri.empty() ? path.c_str() : uri.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error(path + ": cannot open the library database (" + msg + ")");
    }
    // Wait for a concurrent writer (another ingest) instead of failing at once.
    sqlite3_busy_timeout(db_, 30000);
  }
  ~SqliteConnection() override { sqlite3_close_v2(db_); }

  Backend backend() const override { return Backend::Sqlite; }
  void exec(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      sqlite3_free(err);
      fail("\"" + excerpt(sql) + "\"");
    }
  }
  Statement prepare(const std::string& sql) override { return Statement(std::make_unique<SqliteStatement>(*this, sql)); }
  int changes() const override { return sqlite3_changes(db_); }
  const std::string& path() const override { return path_; }
  void begin_write() override { exec("BEGIN IMMEDIATE"); }
  void begin_read() override { exec("BEGIN"); }  // deferred: one WAL snapshot from the first read, no lock
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
  [[noreturn]] void fail(const std::string& what) const override {
    const int code = sqlite3_extended_errcode(db_);
    std::string cause = sqlite3_errmsg(db_);
    if ((code & 0xff) == SQLITE_NOTADB || (code & 0xff) == SQLITE_CORRUPT)
      cause += ": the library database is damaged or not a database (move it away and run `xsearch ingest` again)";
    throw Error(path_ + ": " + what + ": " + cause);
  }
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

SqliteStatement::SqliteStatement(SqliteConnection& c, const std::string& sql) : c_(&c), sql_(sql) {
  if (sqlite3_prepare_v2(c.handle(), sql.c_str(), -1, &s_, nullptr) != SQLITE_OK)
    c.fail("cannot prepare \"" + Connection::excerpt(sql) + "\"");
}

void SqliteStatement::check_bind(int rc) {
  if (rc != SQLITE_OK) c_->fail("cannot bind a value of \"" + Connection::excerpt(sql_) + "\"");
}

bool SqliteStatement::step() {
  const int r = sqlite3_step(s_);
  if (r == SQLITE_ROW) return true;
  if (r == SQLITE_DONE) return false;
  c_->fail("\"" + Connection::excerpt(sql_) + "\"");
}

}  // namespace

std::unique_ptr<Connection> open_sqlite(const std::string& path, Mode mode) { return std::make_unique<SqliteConnection>(path, mode); }

std::unique_ptr<Connection> open_sqlite_immutable(const std::string& path) {
  // A URI's path is percent-encoded: '?', '#' and '%' in a file name would otherwise end or change it.
  std::string uri = "file:";
  const char* hex = "0123456789ABCDEF";
  for (const unsigned char ch : path) {
    if (std::isalnum(ch) || std::strchr("/._-~", ch)) {
      uri += static_cast<char>(ch);
    } else {
      uri += '%';
      uri += hex[ch >> 4];
      uri += hex[ch & 15];
    }
  }
  return std::make_unique<SqliteConnection>(path, Mode::ReadOnly, uri + "?mode=ro&immutable=1");
}

std::string Connection::excerpt(const std::string& sql) {
  std::string out;
  bool space = false;
  for (char ch : sql) {
    const bool blank = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
    if (out.size() >= 80) return out + "...";
  }
  return out;
}

bool is_postgres_uri(const std::string& db) { return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0; }

}  // namespace xsearch::db
