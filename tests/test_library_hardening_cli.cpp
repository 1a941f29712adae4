// The library under attack (issue 25), through the command line: queries while the index file is
// rewritten in place (row 2), a damaged library at a first ingest (row 6), a library in a folder that
// cannot be written (row 7), a library inside the folder it ingests (row 10; a shared library's local
// cache too) and a root whose name is not UTF-8 on PostgreSQL (row 11).
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_backends.hpp"
#include "library_helpers.hpp"
#include "pg_server.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
using xsearch::test::quote;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;
using test::ScopedEnv;

namespace {

// A library of two short videos made with the tiny test model.
void make_library(const fs::path& videos, const fs::path& db) {
  test::make_video(videos / "a.mp4", "testsrc2", 4);
  test::make_video(videos / "b.mp4", "mandelbrot", 4);
  test::run_json("ingest " + quote(videos.string()) + " --db " + quote(db.string()) + test::model_arg(), 0);
}

// `xsearch ARGS` as nobody when this runs as root (for whom a folder of mode 0555 is writable still).
test::Result run_unprivileged(const test::TempDir& tmp, const std::string& args) {
  const std::string who = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups -- " : "";
  const std::string cmd = who + quote(XSEARCH_BINARY) + " " + args + " >" + quote((tmp / "out").string()) + " 2>" +
                          quote((tmp / "err").string()) + " </dev/null";
  const int raw = std::system(cmd.c_str());
  test::Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = test::read_file(tmp / "out");
  r.err = test::read_file(tmp / "err");
  return r;
}

}  // namespace

TEST_CASE("queries never die by a signal while the index file is rewritten in place in a loop", "[cli][index]") {
  test::TempDir tmp;
  const fs::path db = tmp / "lib.db", index = tmp / "lib.index";
  make_library(tmp / "videos", db);
  {
    // 20,000 clips more (random vectors of the model's size): an index file of megabytes, whose rewrite
    // and scan overlap often (with the two videos' few clips alone, 25 queries of the old code all lived).
    Library lib = Library::open(db, true);
    const int dim = static_cast<int>(lib.model()->dim);
    std::mt19937 rng(2);
    for (int v = 0; v < 20; ++v) {
      VideoRecord r;
      r.path = "/elsewhere/" + std::to_string(v) + ".mp4";
      r.fingerprint = r.path;
      std::vector<ClipData> clips;
      for (int i = 0; i < 1000; ++i) clips.push_back({i * 2.0, i * 2.0 + 2, test::random_unit(rng, dim), {}});
      lib.save_video(r, clips);
    }
    lib.rebuild_index();
  }
  REQUIRE(fs::file_size(index) > 1000000);
  fs::copy_file(index, tmp / "copy.index");
  // `cat >` truncates the file and writes it again, as `cp`, a restore or `rsync --inplace` do.
  const pid_t writer = test::spawn_shell("while :; do cat " + quote((tmp / "copy.index").string()) + " > " + quote(index.string()) + "; done");
  int died = 0, failed = 0;
  std::string last_err;
  for (int i = 0; i < 25; ++i) {
    const test::Result r = xsearch_run("query 'a colorful test pattern' -k 2 --json --db " + quote(db.string()));
    if (r.status < 0 || r.status >= 128) ++died;  // 135: SIGBUS
    else if (r.status != 0) ++failed, last_err = r.err;
  }
  ::kill(writer, SIGKILL);
  test::wait_child(writer);
  INFO(last_err);
  CHECK(died == 0);
  CHECK(failed == 0);
}

TEST_CASE("a first ingest into a damaged library reports the damage and fetches no model", "[cli][index]") {
  test::TempDir tmp;
  test::make_video(tmp / "videos" / "a.mp4", "testsrc2", 2);
  test::write_file(tmp / "lib.db", std::string(8192, 'x'));  // not a database
  // The default model is not cached here and the hub is a closed loopback port: a download attempt would
  // fail naming it instead of the damage.
  ScopedEnv hf_home("HF_HOME", (tmp / "hf").string());
  ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
  ScopedEnv hub("HF_ENDPOINT", "http://127.0.0.1:9");
  const test::Result r = xsearch_run("ingest " + quote((tmp / "videos").string()) + " --yes --db " + quote((tmp / "lib.db").string()));
  INFO(r.err);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("lib.db") && Catch::Contains("damaged or not a database"));
  CHECK_THAT(r.err, !Catch::Contains("127.0.0.1") && !Catch::Contains("download"));
  CHECK_FALSE(fs::exists(tmp / "hf"));
}

TEST_CASE("a library in a folder that cannot be written answers info, query and export", "[cli][index]") {
  test::TempDir tmp;
  fs::permissions(tmp.path(), fs::perms::all);
  const fs::path dir = tmp / "ro", db = dir / "lib.db";
  make_library(tmp / "videos", db);
  fs::permissions(tmp / "videos", fs::perms::all);
  for (const auto& e : fs::directory_iterator(tmp / "videos")) fs::permissions(e.path(), fs::perms::all);
  REQUIRE_FALSE(fs::exists(dir / "lib.db-wal"));  // the last writer checkpointed and removed it
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) fs::permissions(e.path(), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);  // 0555
  const std::string on = " --db " + quote(db.string());

  test::Result r = run_unprivileged(tmp, "info --json" + on);
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["videos"] == 2);
  r = run_unprivileged(tmp, "query 'a colorful test pattern' -k 1 --json" + on);
  CHECK(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["results"].size() == 1);
  fs::create_directories(tmp / "clips");
  fs::permissions(tmp / "clips", fs::perms::all);
  r = run_unprivileged(tmp, "export --query 'a colorful test pattern' -k 1 --clips " + quote((tmp / "clips").string()) + on);
  CHECK(r.status == 0);
  CHECK_FALSE(fs::is_empty(tmp / "clips"));

  // Changes still in a write-ahead log cannot be read without the -shm file: a clear cause, not SQLite's
  // "unable to open database file" alone.
  fs::permissions(dir, fs::perms::all);
  test::write_file(dir / "lib.db-wal", std::string(4096, '\0'));
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read | fs::perms::others_exec);
  r = run_unprivileged(tmp, "info --json" + on);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("lib.db-wal holds changes not yet in the database"));
  fs::permissions(dir, fs::perms::all);  // for the TempDir's removal when not root
}

TEST_CASE("a library inside the folder it ingests never takes its own files or cached renditions for videos", "[cli][index]") {
  test::TempDir tmp;
  const fs::path videos = tmp / "videos", db = videos / "library.db";
  make_library(videos, db);
  // A rendition and a thumbnail in the library's media cache, as serve leaves them.
  fs::create_directories(videos / "library.db.thumbs" / "1");
  fs::copy_file(videos / "a.mp4", videos / "library.db.thumbs" / "1" / "1-2.mp4");
  fs::create_symlink(videos, tmp / "link");
  // The same folder by its own name and through a symlink (where its paths differ from the library's).
  for (const fs::path& root : {videos, tmp / "link"}) {
    const test::Result r = xsearch_run("ingest " + quote(root.string()) + " --db " + quote(db.string()) + test::model_arg());
    INFO(r.err);
    CHECK(r.status == 0);
    CHECK(test::sqlite_value(db, "SELECT count(*) FROM videos WHERE path LIKE '%library.db%'") == "0");
  }
  CHECK(test::sqlite_value(db, "SELECT count(*) FROM videos WHERE path LIKE '%/a.mp4'") != "0");
}

TEST_CASE("a PostgreSQL library whose local cache lies inside the folder it ingests never takes its cached renditions for videos", "[cli][postgres]") {
  test::TempDir tmp;
  const fs::path videos = tmp / "videos";
  // The cache folder of a shared library (its index and media cache) inside the ingested folder, as with
  // XDG_CACHE_HOME or HOME under a walked root.
  ScopedEnv cache("XDG_CACHE_HOME", (videos / "cache").string());
  const std::string db = test::new_library("postgres", tmp.path());
  make_library(videos, db);
  const fs::path base = Library::open(db, false).media_base();
  REQUIRE(base.string().rfind((videos / "cache").string(), 0) == 0);
  // A rendition, as serve leaves them, beside the thumbnails the ingest wrote.
  const fs::path renditions = base.string() + ".thumbs";
  REQUIRE(fs::exists(renditions / "1" / "1.jpg"));
  fs::copy_file(videos / "a.mp4", renditions / "1" / "1-2.mp4");
  const test::Result r = xsearch_run("ingest " + quote(videos.string()) + " --db " + quote(db) + test::model_arg());
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(test::sql_value(db, "SELECT count(*) FROM videos WHERE path LIKE '%/cache/%'") == "0");
  CHECK(test::sql_value(db, "SELECT count(*) FROM videos") == "2");
}

TEST_CASE("on PostgreSQL a root whose name is not UTF-8 fails alone, and the other roots are indexed", "[cli][postgres]") {
  test::TempDir tmp;
  ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
  test::make_video(tmp / "good" / "a.mp4", "testsrc", 3);
  const fs::path bad = tmp / std::string("r\xfe");
  fs::create_directories(bad);
  fs::copy_file(tmp / "good" / "a.mp4", bad / "b.mp4");
  const std::string db = test::new_library("postgres", tmp.path());
  const test::Result r = xsearch_run("ingest " + quote(bad.string()) + " " + quote((tmp / "good").string()) + " --db " + quote(db) +
                                     test::model_arg() + " --quiet --json");
  INFO(r.err);
  CHECK(r.status == 3);  // done, some files failed
  CHECK_THAT(r.err, Catch::Contains("b.mp4") && Catch::Contains("not valid UTF-8"));
  CHECK(nlohmann::json::parse(r.out)["indexed"] == 1);
  CHECK(test::sql_value(db, "SELECT count(*) FROM videos WHERE path LIKE '%/good/a.mp4'") == "1");
  CHECK(test::sql_value(db, "SELECT status FROM runs") == "done");
  CHECK_THAT(test::sql_value(db, "SELECT roots FROM runs"), Catch::Contains("r\\xfe"));
}
