// PostgreSQL behind database.hpp: the library's code runs on postgres.hpp's connection through the same
// interface as on SQLite. A write transaction is BEGIN (READ COMMITTED) and the library's advisory lock.
#include <memory>

#include "database.hpp"
#include "postgres.hpp"
#include "xsearch/error.hpp"

namespace xsearch::db {

namespace {

class PostgresStatement : public StatementImpl {
 public:
  PostgresStatement(PgConnection& c, const std::string& sql) : s_(c, sql) {}
  void bind_int64(int i, int64_t v) override { s_.bind(i, v); }
  void bind_double(int i, double v) override { s_.bind(i, v); }
  void bind_text(int i, const std::string& v) override { s_.bind(i, v); }
  void bind_blob(int i, const void* data, std::size_t bytes) override { s_.bind_blob(i, data, bytes); }
  void bind_null(int i) override { s_.bind_null(i); }
  bool step() override { return s_.step(); }
  void reset() override { s_.reset(); }
  int64_t int64(int col) const override { return s_.int64(col); }
  double real(int col) const override { return s_.real(col); }
  std::string text(int col) const override { return s_.text(col); }
  bool is_null(int col) const override { return s_.is_null(col); }
  const void* blob(int col) const override { return s_.blob(col); }
  int blob_bytes(int col) const override { return s_.blob_bytes(col); }

 private:
  PgStatement s_;
};

class PostgresConnection : public Connection {
 public:
  explicit PostgresConnection(const std::string& conninfo, const char* application_name = "xsearch") : pg_(conninfo, application_name) {}
  ~PostgresConnection() override {
    write_.reset();
    read_.reset();
  }
  Backend backend() const override { return Backend::Postgres; }
  void exec(const std::string& sql) override { pg_.exec(sql); }
  Statement prepare(const std::string& sql) override { return Statement(std::make_unique<PostgresStatement>(pg_, sql)); }
  int changes() const override { return pg_.changes(); }
  const std::string& path() const override { return pg_.path(); }
  void begin_write() override {
    if (write_ || read_) throw Error(pg_.path() + ": a transaction is already open");
    write_ = std::make_unique<PgTransaction>(pg_);
    // One writing transaction at a time on the library, as SQLite's BEGIN IMMEDIATE gives: saves, removals
    // and model claims of many workers can then never deadlock on the rows they share (the generation,
    // the clip count), and clip ids are handed out in commit order. Claims are not transactions: they do
    // not wait for it.
    pg_.exec("SELECT pg_advisory_xact_lock(7306199)");
  }
  void begin_read() override {
    if (write_ || read_) throw Error(pg_.path() + ": a transaction is already open");
    read_ = std::make_unique<PgReadTransaction>(pg_);
  }
  void commit() override {
    if (write_) {
      auto t = std::move(write_);
      t->commit();
    } else {
      read_.reset();
    }
  }
  void rollback() noexcept override {
    write_.reset();
    read_.reset();
  }
  [[noreturn]] void fail(const std::string& what) const override { pg_.fail(what); }
  void limit_round_trips(std::chrono::milliseconds limit, std::function<bool()> stop) override { pg_.limit_round_trips(limit, std::move(stop)); }
  PgConnection& pg() { return pg_; }

 private:
  PgConnection pg_;
  std::unique_ptr<PgTransaction> write_;
  std::unique_ptr<PgReadTransaction> read_;
};

}  // namespace

std::unique_ptr<Connection> open_postgres(const std::string& conninfo) { return std::make_unique<PostgresConnection>(conninfo); }

std::unique_ptr<Connection> open_postgres_bounded(const std::string& conninfo, const char* application_name, std::chrono::milliseconds limit,
                                                  std::function<bool()> stop) {
  auto c = std::make_unique<PostgresConnection>(conninfo, application_name);
  c->pg().limit_round_trips(limit, std::move(stop));
  return c;
}

}  // namespace xsearch::db
