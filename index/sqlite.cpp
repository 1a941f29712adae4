#include "sqlite.hpp"

#include "xsearch/error.hpp"

namespace xsearch::db {

Connection::Connection(const std::string& path, Mode mode) : path_(path) {
  const int flags = mode == Mode::ReadOnly    ? SQLITE_OPEN_READONLY
                    : mode == Mode::ReadWrite ? SQLITE_OPEN_READWRITE
                                              : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(path + ": cannot open the library database (" + msg + ")");
  }
  // Wait for a concurrent writer (another ingest) instead of failing at once.
  sqlite3_busy_timeout(db_, 30000);
}

Connection::~Connection() { sqlite3_close_v2(db_); }

void Connection::fail(const std::string& what) const {
  const int code = sqlite3_extended_errcode(db_);
  std::string cause = sqlite3_errmsg(db_);
  if ((code & 0xff) == SQLITE_NOTADB || (code & 0xff) == SQLITE_CORRUPT)
    cause += ": the library database is damaged or not a database (move it away and run `xsearch ingest` again)";
  throw Error(path_ + ": " + what + ": " + cause);
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

void Connection::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    fail("\"" + excerpt(sql) + "\"");
  }
}

Statement Connection::prepare(const std::string& sql) { return Statement(*this, sql); }
int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Connection::changes() const { return sqlite3_changes(db_); }

Statement::Statement(Connection& c, const std::string& sql) : c_(&c), sql_(sql) {
  if (sqlite3_prepare_v2(c.handle(), sql.c_str(), -1, &s_, nullptr) != SQLITE_OK) c.fail("cannot prepare \"" + Connection::excerpt(sql) + "\"");
}

Statement::~Statement() { sqlite3_finalize(s_); }
Statement::Statement(Statement&& o) noexcept : c_(o.c_), s_(o.s_), sql_(std::move(o.sql_)) { o.s_ = nullptr; }

Statement& Statement::bind(int i, int64_t v) {
  if (sqlite3_bind_int64(s_, i, v) != SQLITE_OK) c_->fail("cannot bind a value of \"" + Connection::excerpt(sql_) + "\"");
  return *this;
}
Statement& Statement::bind(int i, double v) {
  if (sqlite3_bind_double(s_, i, v) != SQLITE_OK) c_->fail("cannot bind a value of \"" + Connection::excerpt(sql_) + "\"");
  return *this;
}
Statement& Statement::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK) c_->fail("cannot bind a value of \"" + Connection::excerpt(sql_) + "\"");
  return *this;
}
Statement& Statement::bind_blob(int i, const void* data, std::size_t bytes) {
  if (sqlite3_bind_blob(s_, i, data, static_cast<int>(bytes), SQLITE_TRANSIENT) != SQLITE_OK) c_->fail("cannot bind a value of \"" + Connection::excerpt(sql_) + "\"");
  return *this;
}
Statement& Statement::bind_null(int i) {
  if (sqlite3_bind_null(s_, i) != SQLITE_OK) c_->fail("cannot bind a value of \"" + Connection::excerpt(sql_) + "\"");
  return *this;
}

bool Statement::step() {
  const int r = sqlite3_step(s_);
  if (r == SQLITE_ROW) return true;
  if (r == SQLITE_DONE) return false;
  c_->fail("\"" + Connection::excerpt(sql_) + "\"");
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

int64_t Statement::int64(int col) const { return sqlite3_column_int64(s_, col); }
double Statement::real(int col) const { return sqlite3_column_double(s_, col); }
std::string Statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
}
bool Statement::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
const void* Statement::blob(int col) const { return sqlite3_column_blob(s_, col); }
int Statement::blob_bytes(int col) const { return sqlite3_column_bytes(s_, col); }

Transaction::Transaction(Connection& c) : c_(c) { c_.exec("BEGIN IMMEDIATE"); }
Transaction::~Transaction() {
  if (!done_) sqlite3_exec(c_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}
void Transaction::commit() {
  c_.exec("COMMIT");
  done_ = true;
}

ReadTransaction::ReadTransaction(Connection& c) : c_(c) { c_.exec("BEGIN"); }
ReadTransaction::~ReadTransaction() { sqlite3_exec(c_.handle(), "COMMIT", nullptr, nullptr, nullptr); }

}  // namespace xsearch::db
