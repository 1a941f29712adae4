// index/db/postgres.hpp against a real PostgreSQL server (tests/pg_server.hpp): typed round trips, placeholder
// translation, streaming, reset, nesting, errors, transactions, snapshots, and passwords kept out of messages.
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "catch_compat.hpp"

#include "pg_server.hpp"
#include "db/postgres.hpp"
#include "xsearch/error.hpp"

using xsearch::db::PgConnection;
using xsearch::db::PgReadTransaction;
using xsearch::db::PgStatement;
using xsearch::db::PgTransaction;

namespace {

// The message of the xsearch::Error that f throws (the test fails when it throws none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const xsearch::Error& e) {
    return e.what();
  }
  FAIL("expected an xsearch::Error");
  return "";
}

std::string blob_of(const PgStatement& s, int col) {
  return std::string(static_cast<const char*>(s.blob(col)), static_cast<std::size_t>(s.blob_bytes(col)));
}

int64_t count(PgConnection& c, const std::string& table) {
  PgStatement s = c.prepare("SELECT count(*) FROM " + table);
  REQUIRE(s.step());
  return s.int64(0);
}

// Resident memory of this process, in KiB (0 where /proc is missing).
long rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;  // ASan keeps freed memory in quarantine: resident memory says nothing
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

}  // namespace

TEST_CASE("postgres statements round-trip int64 extremes, doubles, text, NULLs and blobs", "[postgres]") {
  PgConnection c(xsearch::test::pg_test_database());
  c.exec("CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, b BYTEA); CREATE TABLE u (k INT)");
  std::string blob(2048, '\0');
  for (std::size_t j = 0; j < blob.size(); ++j) blob[j] = static_cast<char>((j * 7 + 3) % 256);  // every byte value, NULs too

  struct Row {
    int64_t i;
    double d;
    std::string s, b;
  };
  const std::vector<Row> rows = {
      {std::numeric_limits<int64_t>::min(), -1.7976931348623157e308, "", blob},
      {std::numeric_limits<int64_t>::max(), 4.9406564584124654e-324, "it's a \"quote\" and a ? -- not a comment", ""},
      {0, 0.1, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", std::string("\0\x01\xff", 3)},
      {-1, -2.5e-10, std::string(5000, 'x'), std::string(1, '\0')},
  };
  PgStatement insert = c.prepare("INSERT INTO t (id, i, d, s, b) VALUES (?, ?, ?, ?, ?)");
  for (std::size_t k = 0; k < rows.size(); ++k) {
    insert.bind(1, static_cast<int64_t>(k)).bind(2, rows[k].i).bind(3, rows[k].d).bind(4, rows[k].s);
    insert.bind_blob(5, rows[k].b.data(), rows[k].b.size());
    insert.run();
    CHECK(c.changes() == 1);
  }
  // NULLs: bound explicitly, or left unbound (run() cleared the bindings, as SQLite's reset does).
  insert.bind(1, int64_t{10}).bind_null(2).bind_null(3).bind_null(4).bind_null(5).run();
  insert.bind(1, int64_t{11}).run();

  PgStatement select = c.prepare("SELECT i, d, s, b FROM t WHERE id = ?");
  for (std::size_t k = 0; k < rows.size(); ++k) {
    select.bind(1, static_cast<int64_t>(k));
    REQUIRE(select.step());
    CHECK(select.int64(0) == rows[k].i);
    CHECK(select.real(1) == rows[k].d);
    CHECK(select.text(2) == rows[k].s);
    CHECK(blob_of(select, 3) == rows[k].b);
    CHECK(select.blob_bytes(3) == static_cast<int>(rows[k].b.size()));
    CHECK_FALSE(select.is_null(3));
    CHECK_FALSE(select.step());
    select.reset();
  }
  for (int64_t id : {10, 11}) {
    select.bind(1, id);
    REQUIRE(select.step());
    for (int col = 0; col < 4; ++col) CHECK(select.is_null(col));
    CHECK(select.int64(0) == 0);
    CHECK(select.real(1) == 0.0);
    CHECK(select.text(2).empty());
    CHECK(select.blob(3) == nullptr);
    CHECK(select.blob_bytes(3) == 0);
    select.reset();
  }

  // Other integer widths, numeric aggregates and numbers that come back as text.
  c.exec("INSERT INTO u VALUES (2147483647), (-5)");
  PgStatement misc = c.prepare("SELECT k, (k % 100)::smallint, count(*) OVER (), sum(k::bigint) OVER (), '-42'::text, 2.5::real, avg(k) OVER () FROM u ORDER BY k");
  REQUIRE(misc.step());
  CHECK(misc.int64(0) == -5);
  CHECK(misc.int64(1) == -5);
  CHECK(misc.int64(2) == 2);
  CHECK(misc.int64(3) == 2147483642);  // SUM(bigint) is numeric
  CHECK(misc.text(3) == "2147483642");
  CHECK(misc.int64(4) == -42);
  CHECK(misc.real(5) == 2.5);
  CHECK(misc.real(6) == Approx(1073741821.0));
  CHECK(misc.text(0) == "-5");
  CHECK_THROWS_AS(misc.int64(7), xsearch::Error);  // past the last column
  misc.reset();
  CHECK_THROWS_AS(misc.int64(0), xsearch::Error);  // no current row

  c.exec("UPDATE t SET s = 'x' WHERE id < 3");
  CHECK(c.changes() == 3);
  c.prepare("DELETE FROM t WHERE id >= ?").bind(1, int64_t{10}).run();
  CHECK(c.changes() == 2);
  count(c, "t");
  CHECK(c.changes() == 2);  // a SELECT leaves it
  CHECK_THROWS_WITH(insert.bind(6, int64_t{1}), Catch::Contains("cannot bind parameter 6"));
}

TEST_CASE("postgres placeholders are translated only outside strings, identifiers and comments", "[postgres]") {
  PgConnection c(xsearch::test::pg_test_database());
  c.exec("CREATE TABLE \"odd?name\" (\"what?\" TEXT, n BIGINT)");
  PgStatement ins = c.prepare("INSERT INTO \"odd?name\" (\"what?\", n) -- a comment? yes\n"
                              "VALUES ('it''s ? here' || ? || E'\\'?' /* ? /* nested ? */ ? */, ?)");
  ins.bind(1, std::string("[bound]")).bind(2, int64_t{7}).run();
  CHECK_THROWS_WITH(ins.bind(3, int64_t{1}), Catch::Contains("it has 2"));
  PgStatement sel = c.prepare("SELECT \"what?\", n, ?2, ?1 FROM \"odd?name\" WHERE n = ?1");
  sel.bind(1, int64_t{7}).bind(2, std::string("two"));
  REQUIRE(sel.step());
  CHECK(sel.text(0) == "it's ? here[bound]'?");
  CHECK(sel.int64(1) == 7);
  CHECK(sel.text(2) == "two");
  CHECK(sel.int64(3) == 7);
  CHECK_FALSE(sel.step());
  // After the end, step() runs the statement again, as sqlite3_step does.
  CHECK(sel.step());
  CHECK(sel.text(2) == "two");
}

TEST_CASE("postgres rows of 2 KiB stream one at a time, 20000 of them, through a reset midway and nesting", "[postgres]") {
  PgConnection c(xsearch::test::pg_test_database());
  c.exec("CREATE TABLE big (id BIGINT PRIMARY KEY, b BYTEA NOT NULL)");
  constexpr int kRows = 20000;
  auto expected = [](int64_t id) {
    std::string b(2048, '\0');
    for (std::size_t j = 0; j < b.size(); ++j) b[j] = static_cast<char>((static_cast<std::size_t>(id) * 131 + j) % 251);
    return b;
  };
  {
    PgTransaction tx(c);
    PgStatement ins = c.prepare("INSERT INTO big (id, b) VALUES (?, ?)");
    for (int64_t id = 1; id <= kRows; ++id) {
      const std::string b = expected(id);
      ins.bind(1, id).bind_blob(2, b.data(), b.size()).run();
    }
    tx.commit();
  }

  // (One test, no sections: the 40 MB are written once.)
  {
    INFO("every row arrives, one at a time");
    PgStatement s = c.prepare("SELECT id, b FROM big ORDER BY id");
    const long before = rss_kib();
    int64_t n = 0;
    long mid = 0;
    while (s.step()) {
      ++n;
      REQUIRE(s.int64(0) == n);
      REQUIRE(blob_of(s, 1) == expected(n));
      if (n == kRows / 2) mid = rss_kib();
    }
    CHECK(n == kRows);
    // 40 MB of rows: held at once, they would show in resident memory halfway through.
    if (!kAsan && before > 0) CHECK(mid - before < 16 * 1024);
  }
  {
    INFO("a statement run while another streams leaves the first one's rows intact");
    PgStatement outer = c.prepare("SELECT id, b FROM big WHERE id <= ? ORDER BY id");
    PgStatement inner = c.prepare("SELECT length(b) FROM big WHERE id = ?");
    outer.bind(1, int64_t{300});
    int64_t n = 0;
    while (outer.step()) {
      ++n;
      REQUIRE(outer.int64(0) == n);
      REQUIRE(blob_of(outer, 1) == expected(n));
      inner.bind(1, n);
      REQUIRE(inner.step());
      REQUIRE(inner.int64(0) == 2048);
      inner.reset();
      if (n == 100) c.exec("CREATE TABLE side (x INT)");
    }
    CHECK(n == 300);
  }
  {
    INFO("reset midway, outside and inside a transaction, leaves the connection usable");
    PgStatement s = c.prepare("SELECT id, b FROM big ORDER BY id");
    for (int k = 0; k < 5000; ++k) REQUIRE(s.step());
    s.reset();  // outside a transaction: cancelled on the server
    CHECK(count(c, "big") == kRows);
    REQUIRE(s.step());  // the same statement runs again from the start
    CHECK(s.int64(0) == 1);
    s.reset();
    {
      PgTransaction tx(c);
      REQUIRE(s.step());
      REQUIRE(s.step());
      s.reset();  // read to its end, not cancelled: the transaction goes on
      c.prepare("DELETE FROM big WHERE id = ?").bind(1, int64_t{1}).run();
      tx.commit();
    }
    CHECK(count(c, "big") == kRows - 1);
    {
      PgStatement abandoned = c.prepare("SELECT id FROM big");
      REQUIRE(abandoned.step());
    }  // destroyed mid-stream
    CHECK(count(c, "big") == kRows - 1);
  }
}

TEST_CASE("postgres errors carry the server's message and the statement", "[postgres]") {
  PgConnection c(xsearch::test::pg_test_database());
  c.exec("CREATE TABLE t (id BIGINT PRIMARY KEY)");
  const std::string syntax = error_of([&] { c.exec("SELEC 1"); });
  CHECK_THAT(syntax, Catch::Contains("syntax error") && Catch::Contains("SELEC 1") && Catch::Contains(c.path()));
  CHECK_THAT(error_of([&] { c.prepare("SELECT FROM WHERE ?").bind(1, int64_t{1}).step(); }), Catch::Contains("syntax error"));

  PgStatement ins = c.prepare("INSERT INTO t (id) VALUES (?)");
  ins.bind(1, int64_t{1}).run();
  const std::string dup = error_of([&] { ins.bind(1, int64_t{1}).run(); });
  CHECK_THAT(dup, Catch::Contains("duplicate key value violates unique constraint") && Catch::Contains("23505") &&
                      Catch::Contains("INSERT INTO t (id) VALUES (?)"));
  ins.reset();
  ins.bind(1, int64_t{2}).run();  // the statement and the connection still work
  CHECK(count(c, "t") == 2);

  // An error after some rows: those rows arrive, then the error.
  PgStatement div = c.prepare("SELECT 10 / (3 - g) FROM generate_series(1, 5) g");
  REQUIRE(div.step());
  REQUIRE(div.step());
  CHECK_THAT(error_of([&] { div.step(); }), Catch::Contains("division by zero"));
  CHECK(count(c, "t") == 2);

  // A failed statement inside a transaction makes COMMIT a rollback: commit() says so.
  {
    PgTransaction tx(c);
    c.exec("INSERT INTO t VALUES (3)");
    error_of([&] { c.exec("INSERT INTO t VALUES (1)"); });
    CHECK_THAT(error_of([&] { tx.commit(); }), Catch::Contains("rolled back"));
  }
  CHECK(count(c, "t") == 2);
}

TEST_CASE("a postgres transaction rolls back unless committed", "[postgres]") {
  PgConnection c(xsearch::test::pg_test_database());
  c.exec("CREATE TABLE t (id BIGINT)");
  {
    PgTransaction tx(c);
    c.prepare("INSERT INTO t VALUES (?)").bind(1, int64_t{1}).run();
    CHECK(count(c, "t") == 1);
  }
  CHECK(count(c, "t") == 0);
  try {
    PgTransaction tx(c);
    c.exec("INSERT INTO t VALUES (2)");
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  CHECK(count(c, "t") == 0);
  {
    PgTransaction tx(c);
    c.exec("INSERT INTO t VALUES (3)");
    tx.commit();
  }
  CHECK(count(c, "t") == 1);
}

TEST_CASE("a postgres read transaction keeps one snapshot while another connection commits", "[postgres]") {
  const std::string conninfo = xsearch::test::pg_test_database();
  PgConnection reader(conninfo), writer(conninfo);
  writer.exec("CREATE TABLE t (id BIGINT); INSERT INTO t VALUES (1)");
  {
    PgReadTransaction snapshot(reader);
    CHECK(count(reader, "t") == 1);
    writer.exec("INSERT INTO t VALUES (2)");
    {
      PgTransaction tx(writer);
      writer.prepare("INSERT INTO t VALUES (?)").bind(1, int64_t{3}).run();
      tx.commit();
    }
    CHECK(count(writer, "t") == 3);
    CHECK(count(reader, "t") == 1);
    CHECK_THAT(error_of([&] { reader.exec("INSERT INTO t VALUES (4)"); }), Catch::Contains("read-only transaction"));
  }
  CHECK(count(reader, "t") == 3);
}

TEST_CASE("a postgres connection never shows the password in its messages", "[postgres]") {
  const std::string refused = error_of([] { PgConnection c("postgresql://u:secretpw@localhost:1/x"); });
  CHECK_THAT(refused, !Catch::Contains("secretpw") && Catch::Contains("localhost") && Catch::Contains(":1/x") &&
                          Catch::Contains("cannot connect"));
  const std::string keyword = error_of([] { PgConnection c("host=localhost port=1 dbname=x user=u password=secretpw"); });
  CHECK_THAT(keyword, !Catch::Contains("secretpw") && Catch::Contains("localhost"));
  // libpq's own parse errors quote the whole URI.
  const std::string malformed = error_of([] { PgConnection c("postgresql://u:secretpw@[::1/x"); });
  CHECK_THAT(malformed, !Catch::Contains("secretpw") && Catch::Contains("invalid PostgreSQL connection string"));

  xsearch::test::PgServer& server = xsearch::test::PgServer::shared();
  const std::string conninfo = server.create_database();
  PgConnection good(conninfo + " password=secretpw");  // trust authentication ignores it
  CHECK_THAT(good.path(), !Catch::Contains("secretpw") && Catch::Contains(server.socket_dir()) && Catch::Contains("/test_"));
  const std::string missing = error_of([&] { PgConnection c(server.conninfo("no_such_db") + " password=secretpw"); });
  CHECK_THAT(missing, !Catch::Contains("secretpw") && Catch::Contains("no_such_db"));
}
