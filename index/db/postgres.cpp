#include "postgres.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "pg_round_trip.hpp"
#include "xsearch/error.hpp"

namespace xsearch::db {

namespace {

// libpq's messages end in a newline and may span lines ("\tIs the server running ...?"): one line each.
std::string one_line(const char* s) {
  std::string out;
  bool space = false;
  for (; s && *s; ++s) {
    if (*s == '\n' || *s == '\r' || *s == '\t' || *s == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += *s;
  }
  return out;
}

// "postgresql://user@host:port/dbname", a socket folder in ?host= (it is not a URI host). Built from what
// libpq resolved (defaults included), so it names the server actually tried, and never holds a password.
std::string describe(PGconn* conn) {
  const std::string host = PQhost(conn) ? PQhost(conn) : "", port = PQport(conn) ? PQport(conn) : "";
  const std::string db = PQdb(conn) ? PQdb(conn) : "", user = PQuser(conn) ? PQuser(conn) : "";
  const bool socket = host.empty() || host[0] == '/' || host[0] == '@';
  std::string out = "postgresql://" + (user.empty() ? "" : user + "@");
  if (!socket) out += (host.find(':') != std::string::npos ? "[" + host + "]" : host) + (port.empty() ? "" : ":" + port);
  out += "/" + db;
  if (socket && !host.empty()) out += "?host=" + host + (port.empty() ? "" : "&port=" + port);
  return out;
}

// The server's own words for a failed result: primary message, detail, SQLSTATE (23505: unique violation).
std::string server_message(const PGresult* r, PGconn* conn) {
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string m = primary ? primary : r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(conn);
  if (const char* detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : nullptr) m += std::string(" (") + detail + ")";
  if (const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr) m += std::string(" [SQLSTATE ") + state + "]";
  m = one_line(m.c_str());
  return m.empty() && r ? std::string("unexpected result ") + PQresStatus(PQresultStatus(r)) : m;
}

// A result in COPY state holds the connection until the copy ends; xsearch never copies, so end it.
void end_copy(PGconn* conn, ExecStatusType st) {
  if (st == PGRES_COPY_IN) PQputCopyEnd(conn, "COPY is not supported by xsearch");
  if (st == PGRES_COPY_OUT)
    for (char* buf = nullptr; PQgetCopyData(conn, &buf, 0) > 0; buf = nullptr) PQfreemem(buf);
}

bool is_ident(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '$' || (ch & 0x80); }

// SQLite's `?` and `?NNN` become $n; strings ('..', E'..' with backslash escapes), quoted identifiers and
// comments are copied untouched. A bare `?` takes the largest number so far plus one, as in SQLite. *count
// gets the number of parameters. Dollar-quoted strings are not recognised: function bodies go to exec().
std::string translate(const std::string& sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int most = 0;
  const std::size_t n = sql.size();
  std::size_t i = 0;
  auto copy_to = [&](std::size_t end) {
    end = std::min(end, n);
    out.append(sql, i, end - i);
    i = end;
  };
  while (i < n) {
    const char ch = sql[i];
    const char next = i + 1 < n ? sql[i + 1] : '\0';
    if (ch == '\'') {
      const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !is_ident(sql[i - 2]));
      std::size_t j = i + 1;
      while (j < n && sql[j] != '\'') j += escapes && sql[j] == '\\' ? 2 : 1;
      copy_to(j + 1);  // a doubled '' reads as two strings in a row: the same bytes come out
    } else if (ch == '"') {
      const std::size_t end = sql.find('"', i + 1);  // a doubled "" reads as two identifiers in a row
      copy_to(end == std::string::npos ? n : end + 1);
    } else if (ch == '-' && next == '-') {
      copy_to(sql.find('\n', i));
    } else if (ch == '/' && next == '*') {  // PostgreSQL's block comments nest
      std::size_t j = i + 2;
      for (int depth = 1; j < n && depth > 0; ++j) {
        if (sql[j] == '/' && j + 1 < n && sql[j + 1] == '*') ++depth, ++j;
        else if (sql[j] == '*' && j + 1 < n && sql[j + 1] == '/') --depth, ++j;
      }
      copy_to(j);
    } else if (ch == '?') {
      std::size_t j = i + 1;
      while (j < n && j < i + 7 && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      const int k = j > i + 1 ? std::atoi(sql.substr(i + 1, j - i - 1).c_str()) : most + 1;
      if (k < 1 || k > 65535) throw Error("\"" + PgConnection::excerpt(sql) + "\": parameter ?" + std::to_string(k) + " out of range");
      most = std::max(most, k);
      out += '$' + std::to_string(k);
      i = j;
    } else {
      out += ch;
      ++i;
    }
  }
  *count = most;
  return out;
}

// Statements that only read: cancelling one on the server loses nothing. (WITH may hide writes.)
bool reads_only(const std::string& sql) {
  std::size_t i = sql.find_first_not_of(" \t\r\n(");
  std::string word;
  for (; i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])); ++i) word += static_cast<char>(std::toupper(sql[i]));
  return word == "SELECT" || word == "VALUES" || word == "TABLE" || word == "SHOW";
}

}  // namespace

PgConnection::PgConnection(const std::string& conninfo, const char* application_name) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    // libpq's parse errors may quote the whole string (URIs) or any token of it, password included.
    const bool secret = conninfo.find("password") != std::string::npos || conninfo.find('@') != std::string::npos;
    const std::string why = secret ? "the message is not shown as the string holds a password; percent-encode "
                                     "special characters of a URI's user and password"
                                   : one_line(err ? err : "out of memory");
    PQfreemem(err);
    throw Error("invalid PostgreSQL connection string (" + why + ")");
  }
  std::string password;
  bool has_timeout = std::getenv("PGCONNECT_TIMEOUT") != nullptr;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (o->val && std::strcmp(o->keyword, "password") == 0) password = o->val;
    if (o->val && *o->val && std::strcmp(o->keyword, "connect_timeout") == 0) has_timeout = true;
  }
  PQconninfoFree(opts);
  // Defaults first: the expanded string that comes after them overrides any of them it sets. UTF8, as
  // xsearch's text is; a server that never answers should not hang an ingest forever.
  // TCP keepalives and a user timeout: a connection whose peer vanished (a network cut, a server machine
  // gone) fails within about a minute instead of blocking a worker's heartbeat forever. (Unix sockets ignore them.)
  const char* keys[] = {"connect_timeout", "client_encoding", "fallback_application_name", "keepalives", "keepalives_idle",
                        "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname", nullptr};
  const char* values[] = {has_timeout ? nullptr : "10", "UTF8", application_name, "1", "30", "10", "3", "60000", conninfo.c_str(), nullptr};
  conn_ = PQconnectdbParams(has_timeout ? keys + 1 : keys, has_timeout ? values + 1 : values, 1);
  if (!conn_) throw Error("cannot connect to PostgreSQL: out of memory");
  path_ = describe(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string why = one_line(PQerrorMessage(conn_));
    for (std::size_t at; !password.empty() && (at = why.find(password)) != std::string::npos;)  // libpq never quotes it: to be sure
      why.replace(at, password.size(), "***");
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(path_ + ": cannot connect to the PostgreSQL server (" + why + ")");
  }
  // NOTICEs and WARNINGs ("table does not exist, skipping") would go to stderr, which is the CLI's output.
  PQsetNoticeReceiver(conn_, [](void*, const PGresult*) {}, nullptr);
}

PgConnection::~PgConnection() { PQfinish(conn_); }

void PgConnection::fail(const std::string& what) const {
  if (!given_up_.empty()) throw Error(path_ + ": " + given_up_);
  const std::string why = one_line(PQerrorMessage(conn_));  // empty after a statement that did not fail
  throw Error(path_ + ": " + what + (why.empty() ? "" : ": " + why));
}

void PgConnection::fail_result(const std::string& what, PGresult* r) const {
  const std::string msg = server_message(r, conn_);
  PQclear(r);
  if (!given_up_.empty()) throw Error(path_ + ": " + given_up_);
  throw Error(path_ + ": " + what + ": " + msg);
}

std::string PgConnection::excerpt(const std::string& sql) {
  std::string out = one_line(sql.c_str());
  if (out.size() >= 80) out.resize(80), out += "...";
  return out;
}

void PgConnection::limit_round_trips(std::chrono::milliseconds limit, std::function<bool()> stop) {
  limit_ = limit;
  stop_ = std::move(stop);
  // Nonblocking: sending a statement never blocks (libpq keeps what the socket does not take), so that a
  // large one to a server that stopped reading waits in await_answer, under the limit, not in a write.
  if (PQsetnonblocking(conn_, limit_.count() > 0 ? 1 : 0) != 0) fail("cannot make the connection nonblocking");
}

bool PgConnection::await_answer() noexcept {
  if (limit_.count() <= 0) return true;
  if (!given_up_.empty()) return false;
  const AnswerWait w = wait_for_answer(conn_, std::chrono::steady_clock::now() + limit_, stop_, stop_seen_);
  if (w == AnswerWait::Ready) return true;
  const auto seconds = [](std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000);
    return std::string(buf);
  };
  given_up_ = w == AnswerWait::Stopped ? "no answer from the PostgreSQL server within " + seconds(kStopGrace) + " of the stop request: the connection is given up"
              : w == AnswerWait::StoppedInAll
                  ? "no answer from the PostgreSQL server within " + seconds(kStopTotal) +
                        " of the stop request (its statements since waited that long in all): the connection is given up"
                  : "no answer from the PostgreSQL server within " + seconds(limit_) +
                        " (its server process is stopped or hung, or waits on a lock): the connection is given up";
  shut_down(conn_);  // what it still owes is never read: every libpq call on it now fails at once
  return false;
}

PGresult* PgConnection::exec_result(const char* sql) noexcept {
  if (limit_.count() <= 0) return PQexec(conn_, sql);
  if (!given_up_.empty() || !PQsendQuery(conn_, sql)) return nullptr;
  PGresult* kept = nullptr;  // as PQexec: the last result, but an error over the ones after it
  for (;;) {
    await_answer();
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {  // as PQexec: returned at once, the caller ends the copy
      PQclear(kept);
      return r;
    }
    if (kept && PQresultStatus(kept) == PGRES_FATAL_ERROR) {
      PQclear(r);
    } else {
      PQclear(kept);
      kept = r;
    }
  }
  if (given_up_.empty()) return kept;
  PQclear(kept);
  return nullptr;
}

void PgConnection::drain() noexcept {
  for (;;) {
    await_answer();  // given up: libpq's calls fail at once
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    const ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    end_copy(conn_, st);
  }
}

void PgConnection::settle() {
  if (streaming_) streaming_->buffer_rest();
}

void PgConnection::note_changes(const PGresult* r) {
  const char* tag = PQcmdStatus(const_cast<PGresult*>(r));
  for (const char* dml : {"INSERT ", "UPDATE ", "DELETE ", "MERGE "})
    if (std::strncmp(tag, dml, std::strlen(dml)) == 0) changes_ = std::atoi(PQcmdTuples(const_cast<PGresult*>(r)));
}

std::string PgConnection::exec_tag(const std::string& sql) {
  settle();
  PGresult* r = exec_result(sql.c_str());
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
    PQclear(r);
    end_copy(conn_, st);
    drain();
    throw Error(path_ + ": \"" + excerpt(sql) + "\": COPY is not supported");
  }
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) fail_result("\"" + excerpt(sql) + "\"", r);
  note_changes(r);
  std::string tag = PQcmdStatus(r);
  PQclear(r);
  return tag;
}

void PgConnection::exec(const std::string& sql) { exec_tag(sql); }

void PgConnection::exec_quietly(const char* sql) noexcept {
  settle();
  PQclear(exec_result(sql));
}

PgStatement PgConnection::prepare(const std::string& sql) { return PgStatement(*this, sql); }

PgStatement::PgStatement(PgConnection& c, const std::string& sql) : c_(&c), sql_(sql) {
  int count = 0;
  try {
    pg_sql_ = translate(sql, &count);
  } catch (const Error& e) {
    throw Error(c.path() + ": " + e.what());
  }
  params_.resize(static_cast<std::size_t>(count));
}

PgStatement::~PgStatement() { discard_rest(); }

PgStatement::PgStatement(PgStatement&& o) noexcept
    : c_(o.c_), sql_(std::move(o.sql_)), pg_sql_(std::move(o.pg_sql_)), params_(std::move(o.params_)), state_(o.state_),
      cancellable_(o.cancellable_), row_(o.row_), pending_(std::move(o.pending_)), pending_error_(std::move(o.pending_error_)) {
  if (c_->streaming_ == &o) c_->streaming_ = this;
  o.row_ = nullptr;
  o.pending_.clear();
  o.state_ = State::Idle;
}

PgStatement::Param& PgStatement::param(int index) {
  if (index < 1 || index > static_cast<int>(params_.size()))
    throw Error(c_->path() + ": cannot bind parameter " + std::to_string(index) + " of \"" + PgConnection::excerpt(sql_) + "\": it has " +
                std::to_string(params_.size()));
  return params_[static_cast<std::size_t>(index - 1)];
}

void PgStatement::start() {
  c_->settle();
  clear_results();
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths, formats(params_.size(), 1);
  for (const Param& p : params_) {
    types.push_back(p.type);
    values.push_back(p.null ? nullptr : p.bytes.data());
    lengths.push_back(static_cast<int>(p.bytes.size()));
  }
  if (!c_->given_up_.empty()) c_->fail("");
  PGconn* conn = c_->conn_;
  cancellable_ = PQtransactionStatus(conn) == PQTRANS_IDLE && reads_only(sql_);
  if (!PQsendQueryParams(conn, pg_sql_.c_str(), static_cast<int>(params_.size()), types.data(), values.data(), lengths.data(),
                         formats.data(), 1))
    c_->fail("\"" + PgConnection::excerpt(sql_) + "\"");
  state_ = State::Streaming;
  c_->streaming_ = this;
  // Refused only when not called right after sending, which cannot happen here.
  if (!PQsetSingleRowMode(conn)) {
    discard_rest();
    throw Error(c_->path() + ": \"" + PgConnection::excerpt(sql_) + "\": libpq refused to stream the rows");
  }
}

bool PgStatement::step() {
  if (state_ == State::Idle || state_ == State::Done) start();
  PQclear(row_);
  row_ = nullptr;
  if (state_ == State::Buffered) {
    if (!pending_.empty()) {
      row_ = pending_.front();
      pending_.pop_front();
      return true;
    }
    state_ = State::Done;
    if (pending_error_.empty()) return false;
    const std::string e = std::move(pending_error_);
    pending_error_.clear();
    throw Error(e);
  }
  PGconn* conn = c_->conn_;
  if (!c_->await_answer()) {
    c_->drain();
    c_->streaming_ = nullptr;
    state_ = State::Done;
    c_->fail("");
  }
  PGresult* r = PQgetResult(conn);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_COMMAND_OK;
  if (st == PGRES_SINGLE_TUPLE) {
    row_ = r;
    return true;
  }
  const bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY;
  const std::string msg = ok ? std::string() : server_message(r, conn);
  if (r) c_->note_changes(r);
  PQclear(r);
  end_copy(conn, st);
  c_->drain();
  c_->streaming_ = nullptr;
  state_ = State::Done;
  if (!ok) throw Error(c_->path() + ": \"" + PgConnection::excerpt(sql_) + "\": " + msg);
  return false;
}

void PgStatement::buffer_rest() noexcept {
  PGconn* conn = c_->conn_;
  c_->streaming_ = nullptr;
  state_ = State::Buffered;
  for (;;) {
    if (!c_->await_answer() && pending_error_.empty()) pending_error_ = c_->path() + ": " + c_->given_up_;
    PGresult* r = PQgetResult(conn);
    if (!r) break;
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_SINGLE_TUPLE && pending_error_.empty()) {
      try {
        pending_.push_back(r);
        continue;
      } catch (const std::bad_alloc&) {  // the reader gets the rows that fit, then this error
        pending_error_ = c_->path() + ": \"" + PgConnection::excerpt(sql_) + "\": out of memory keeping its rows";
      }
    }
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
      c_->note_changes(r);
    } else if (pending_error_.empty()) {
      pending_error_ = c_->path() + ": \"" + PgConnection::excerpt(sql_) + "\": " + server_message(r, conn);
    }
    PQclear(r);
    end_copy(conn, st);
  }
}

void PgStatement::discard_rest() noexcept {
  PGconn* conn = c_->conn_;
  if (state_ == State::Streaming && c_->streaming_ == this) {
    // Whatever has arrived already is dropped without waiting; a single-row lookup usually ends there.
    bool finished = false;
    if (PQconsumeInput(conn))
      while (!finished && !PQisBusy(conn)) {
        PGresult* r = PQgetResult(conn);
        const ExecStatusType st = PQresultStatus(r);
        finished = r == nullptr;
        PQclear(r);
        end_copy(conn, st);  // (a COPY result repeats until the copy ends)
      }
    // The rest of a long read-only query is not worth transferring. A query that writes, or one inside a
    // transaction (a cancel would abort it), is read to its end instead.
    if (!finished && cancellable_ && c_->limit_.count() <= 0) {
      if (PGcancel* k = PQgetCancel(conn)) {
        char buf[256];
        PQcancel(k, buf, sizeof buf);
        PQfreeCancel(k);
      }
    }
    c_->drain();
    c_->streaming_ = nullptr;
  }
  clear_results();
  state_ = State::Idle;
}

void PgStatement::clear_results() noexcept {
  PQclear(row_);
  row_ = nullptr;
  for (PGresult* r : pending_) PQclear(r);
  pending_.clear();
  pending_error_.clear();
}

void PgStatement::run() {
  while (step()) {
  }
  reset();
}

void PgStatement::reset() {
  discard_rest();
  for (Param& p : params_) p = Param{};
}

PgTransaction::PgTransaction(PgConnection& c) : c_(c) { c_.exec("BEGIN"); }
PgTransaction::~PgTransaction() {
  if (!done_) c_.exec_quietly("ROLLBACK");
}
void PgTransaction::commit() {
  const std::string tag = c_.exec_tag("COMMIT");
  done_ = true;
  // COMMIT of a transaction in which a statement failed succeeds, as a ROLLBACK: say so.
  if (tag != "COMMIT") throw Error(c_.path() + ": the transaction was rolled back, not committed (a statement in it had failed)");
}

PgReadTransaction::PgReadTransaction(PgConnection& c) : c_(c) { c_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
PgReadTransaction::~PgReadTransaction() { c_.exec_quietly("COMMIT"); }

}  // namespace xsearch::db
