// Exclusions remembered per root (issue 24): `ingest ROOT --exclude GLOB` and `xsearch exclude` store them
// in the library (schema 5, SQLite and PostgreSQL), every later ingest of the root skips what they match,
// and videos already stored there are kept and counted, never deleted on the exclusion's account.
#include <nlohmann/json.hpp>

#include "../index/db/database.hpp"
#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_backends.hpp"
#include "library_helpers.hpp"
#include "pg_server.hpp"
#include "pipeline/ingest/exclusions.hpp"
#include "xsearch/error.hpp"
#include "xsearch/library.hpp"

using namespace xsearch::test;
namespace fs = std::filesystem;
using xsearch::Exclusion;
using xsearch::Library;
using xsearch::pipeline::ExcludeRules;
using xsearch::pipeline::normalize_exclude_pattern;

namespace {

int videos_in(const fs::path& db) { return std::atoi(sqlite_value(db, "SELECT count(*) FROM videos").c_str()); }

// A library URI for the test server's database of `conninfo` ("... dbname=test_N ...").
std::string pg_uri(PgServer& server, const std::string& conninfo) {
  const auto at = conninfo.find("dbname=");
  const std::string name = conninfo.substr(at + 7, conninfo.find(' ', at) - at - 7);
  return "postgresql://postgres@/" + name + "?host=" + server.socket_dir() + "&port=" + std::to_string(server.port());
}

}  // namespace

TEST_CASE("exclusion patterns match relative to their root: globs with ** at any depth, plain paths as whole names", "[index]") {
  const ExcludeRules rules({{"/v", "Holiday 2024/**"}, {"/v", "**/*.tmp"}, {"/v", "old"}, {"/w", "*/cache/*"}});
  CHECK(rules.excludes_entry("/v/Holiday 2024", true));  // the folder itself is not walked
  CHECK_FALSE(rules.excludes_entry("/v/Holiday 2024", false));  // a file of that name is not the folder
  CHECK(rules.excluded("/v/Holiday 2024/day1/a.mp4"));
  CHECK_FALSE(rules.excluded("/v/Holiday 2025/a.mp4"));
  CHECK(rules.excluded("/v/x.tmp"));  // **/ also at the root's own level
  CHECK(rules.excluded("/v/a/b/x.tmp"));
  CHECK(rules.excluded("/v/old"));
  CHECK(rules.excluded("/v/old/a.mp4"));
  CHECK_FALSE(rules.excluded("/v/older/a.mp4"));  // a plain path is a whole name, not a substring
  CHECK_FALSE(rules.excluded("/x/old/a.mp4"));    // another root's pattern
  CHECK(rules.excluded("/w/a/cache/b/c.mp4"));   // a folder above the file matched
  CHECK_FALSE(rules.excluded("/v"));              // never the root itself
  CHECK(normalize_exclude_pattern("./Holiday 2024/") == "Holiday 2024");
  CHECK(normalize_exclude_pattern("*/raw/") == "*/raw/**");
  CHECK_THROWS_AS(normalize_exclude_pattern("/home/me/Videos/x"), xsearch::Error);
  CHECK_THROWS_AS(normalize_exclude_pattern("a/../../etc"), xsearch::Error);
  CHECK_THROWS_AS(normalize_exclude_pattern("./"), xsearch::Error);
}

TEST_CASE("ingest --exclude is remembered per root: remove + exclude keeps a folder out of every later ingest", "[cli][index]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  make_video(videos / "home.mp4", "testsrc2", 2);
  make_video(videos / "Holiday 2024" / "beach.mp4", "mandelbrot", 2);
  const auto db = tmp / "lib.db";
  const std::string args = quote(videos.string()) + db_arg(db);
  REQUIRE(run_json("ingest " + args + model_arg(), 0)["indexed"] == 2);
  REQUIRE(xsearch_run("remove " + quote((videos / "Holiday 2024").string()) + db_arg(db)).status == 0);
  CHECK(run_json("ingest " + args + " --exclude 'Holiday 2024/**'", 0)["indexed"] == 0);
  // The next plain ingest, and the one after, leave it out: the pattern is in the library.
  CHECK(run_json("ingest " + args, 0)["indexed"] == 0);
  CHECK(videos_in(db) == 1);
  CHECK(sqlite_value(db, "SELECT root || '|' || pattern FROM exclusions") == videos.string() + "|Holiday 2024/**");
  const auto listed = run_json("exclude list" + db_arg(db), 0);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["root"] == videos.string());
  CHECK(listed[0]["pattern"] == "Holiday 2024/**");
  // Another root's ingest is not affected by this root's pattern.
  make_video(tmp / "other" / "Holiday 2024" / "x.mp4", "smptebars", 2);
  CHECK(run_json("ingest " + quote((tmp / "other").string()) + db_arg(db), 0)["indexed"] == 1);
  // Dropped: the next ingest walks the folder again.
  const Result dropped = xsearch_run("exclude remove " + quote(videos.string()) + " 'Holiday 2024/**'" + db_arg(db));
  CHECK(dropped.status == 0);
  CHECK(run_json("ingest " + args, 0)["indexed"] == 1);
  CHECK(xsearch_run("exclude remove " + quote(videos.string()) + " 'Holiday 2024/**'" + db_arg(db)).status == 1);  // none left
}

TEST_CASE("videos already stored under a new exclusion are kept, counted and pointed at `xsearch remove`, never deleted", "[cli][index]") {
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  make_video(videos / "home.mp4", "testsrc2", 2);
  make_video(videos / "raw" / "take1.mp4", "mandelbrot", 2);
  make_video(videos / "raw" / "take2.mp4", "smptebars", 2);
  const auto db = tmp / "lib.db";
  const std::string args = quote(videos.string()) + db_arg(db);
  REQUIRE(run_json("ingest " + args + model_arg(), 0)["indexed"] == 3);
  const Result r = xsearch_run("ingest " + args + " --exclude raw --json");
  INFO(r.err);
  REQUIRE(r.status == 0);  // nothing failed and nothing is offline: the excluded videos are neither
  const auto s = nlohmann::json::parse(r.out);
  CHECK(s["excluded"] == 2);
  CHECK(s["removed"] == 0);
  CHECK(s["offline"] == 0);
  CHECK(s["failed"] == 0);
  CHECK(videos_in(db) == 3);
  CHECK_THAT(r.err, Catch::Contains("xsearch remove"));
  // Even when one is deleted from the disk, an exclusion is not a walk: it stays until removed on purpose.
  fs::remove(videos / "raw" / "take1.mp4");
  CHECK(run_json("ingest " + args, 0)["removed"] == 0);
  CHECK(videos_in(db) == 3);
  REQUIRE(xsearch_run("remove " + quote((videos / "raw").string()) + db_arg(db)).status == 0);
  CHECK(videos_in(db) == 1);
  CHECK(run_json("ingest " + args, 0)["indexed"] == 0);  // and the folder stays out
}

TEST_CASE("a root whose every stored video lies in an excluded folder is neither offline nor emptied", "[cli][index]") {
  // The walk then finds none of the root's videos, which without the exclusion reads as an empty mount point.
  TempDir tmp;
  const fs::path videos = tmp / "videos";
  make_video(videos / "keep" / "a.mp4", "testsrc2", 2);
  const auto db = tmp / "lib.db";
  const std::string args = quote(videos.string()) + db_arg(db);
  REQUIRE(run_json("ingest " + args + model_arg(), 0)["indexed"] == 1);
  const auto s = run_json("ingest " + args + " --exclude keep", 0);
  CHECK(s["excluded"] == 1);
  CHECK(s["offline"] == 0);
  CHECK(s["failed"] == 0);
  CHECK(videos_in(db) == 1);
}

TEST_CASE("exclude add and ingest --exclude refuse absolute patterns and patterns that leave the root", "[cli]") {
  TempDir tmp;
  fs::create_directories(tmp / "videos");
  const Result abs = xsearch_run("ingest " + quote((tmp / "videos").string()) + " --exclude /etc" + db_arg(tmp / "lib.db"));
  CHECK(abs.status == 2);
  CHECK_THAT(abs.err, Catch::Contains("relative to the root"));
  CHECK_FALSE(fs::exists(tmp / "lib.db"));  // refused before anything was created
  const Result up = xsearch_run("exclude add " + quote((tmp / "videos").string()) + " '../x'" + db_arg(tmp / "lib.db"));
  CHECK(up.status == 2);
  CHECK_THAT(up.err, Catch::Contains(".."));
}

TEST_CASE("a SQLite library of schema 4 reads with no exclusions and gains the table when opened for writing", "[index]") {
  TempDir tmp;
  const auto db = tmp / "lib.db";
  { Library lib = Library::open(db, true); }
  sqlite_value(db, "DROP TABLE exclusions; PRAGMA user_version = 4;");
  REQUIRE(sqlite_value(db, "PRAGMA user_version") == "4");
  CHECK(Library::open(db, false).exclusions().empty());
  {
    Library lib = Library::open(db, true);
    CHECK(lib.add_exclusion({"/v", "raw/**"}));
    CHECK_FALSE(lib.add_exclusion({"/v", "raw/**"}));  // once
  }
  CHECK(sqlite_value(db, "PRAGMA user_version") == "5");
  const auto read = Library::open(db, false).exclusions();
  REQUIRE(read.size() == 1);
  CHECK(read[0].pattern == "raw/**");
}

TEST_CASE("a PostgreSQL library keeps exclusions too: schema 4 is upgraded by a writer, read as it is by a reader", "[index][postgres]") {
  TempDir tmp;
  ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
  PgServer& server = PgServer::shared();
  const std::string db = pg_uri(server, server.create_database());
  { Library lib = Library::open(db, true); }
  {
    auto c = xsearch::db::open_postgres(db);
    c->exec("DROP TABLE exclusions; UPDATE meta SET value = '4' WHERE key = 'schema_version'");
  }
  CHECK(Library::open(db, false).exclusions().empty());  // a query on an older library still opens it
  {
    Library lib = Library::open(db, true);
    CHECK(lib.add_exclusion({"/v", "Holiday 2024/**"}));
    CHECK_FALSE(lib.add_exclusion({"/v", "Holiday 2024/**"}));
    CHECK(lib.add_exclusion({"/v", "old"}));
    CHECK(lib.remove_exclusion({"/v", "old"}));
    CHECK_FALSE(lib.remove_exclusion({"/v", "old"}));
  }
  const auto read = Library::open(db, false).exclusions();
  REQUIRE(read.size() == 1);
  CHECK(read[0].root == "/v");
  CHECK(read[0].pattern == "Holiday 2024/**");
}

TEST_CASE("ingest --exclude on a PostgreSQL library leaves the folder out in later runs", "[cli][index][postgres]") {
  TempDir tmp;
  ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
  PgServer& server = PgServer::shared();
  const std::string db = pg_uri(server, server.create_database());
  const fs::path videos = tmp / "videos";
  make_video(videos / "home.mp4", "testsrc2", 2);
  make_video(videos / "skip" / "a.mp4", "mandelbrot", 2);
  const std::string args = quote(videos.string()) + " --db " + quote(db);
  CHECK(run_json("ingest " + args + model_arg() + " --exclude skip", 0)["indexed"] == 1);
  make_video(videos / "skip" / "b.mp4", "smptebars", 2);
  CHECK(run_json("ingest " + args, 0)["indexed"] == 0);
  const auto listed = run_json("exclude list --db " + quote(db), 0);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["pattern"] == "skip");
}
