// The library's safety rules (issue 9): ids never reused, index files that carry the library's identity,
// queries that never write, checked and cancellable index writes, one writer at a time, schema migration,
// no database created by commands that only read or change an existing one, and damaged meta values.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"
#include "../index/vectors/index_header.hpp"
#include "io/atomic_file.hpp"
#include "xsearch/error.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
using xsearch::test::quote;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

VideoRecord video(const std::string& path) {
  VideoRecord r;
  r.path = path;
  r.fingerprint = path;
  return r;
}

std::vector<ClipData> clips_of(std::mt19937& rng, int n, int dim) {
  std::vector<ClipData> out;
  for (int i = 0; i < n; ++i) out.push_back({i * 2.0, i * 2.0 + 2, test::random_unit(rng, dim), {}});
  return out;
}

// Every file in a folder with its size and modification time.
std::map<std::string, std::string> listing(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    struct stat st {};
    ::stat(e.path().c_str(), &st);
    out[e.path().filename().string()] =
        std::to_string(st.st_size) + "@" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  return out;
}

void sqlite(const fs::path& db, const std::string& sql) {
  REQUIRE(std::system(("sqlite3 " + quote(db.string()) + " " + quote(sql)).c_str()) == 0);
}

struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  const char* name_;
};

// The version 1 schema as the first release wrote it, with two videos (one failed) and two clips.
void make_version1_library(const fs::path& db) {
  sqlite(db, R"(CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE videos (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
      mtime_ns INTEGER NOT NULL, fingerprint TEXT NOT NULL, duration REAL NOT NULL DEFAULT 0, fps REAL NOT NULL DEFAULT 0,
      width INTEGER NOT NULL DEFAULT 0, height INTEGER NOT NULL DEFAULT 0,
      status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')), error TEXT, updated_at INTEGER NOT NULL);
    CREATE INDEX videos_fingerprint ON videos (fingerprint);
    CREATE TABLE clips (id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
      start REAL NOT NULL, end REAL NOT NULL, embedding BLOB NOT NULL, prompt_tokens BLOB);
    CREATE INDEX clips_video ON clips (video_id);
    CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, finished_at INTEGER, roots TEXT NOT NULL,
      status TEXT NOT NULL, indexed INTEGER NOT NULL DEFAULT 0, clips INTEGER NOT NULL DEFAULT 0,
      unchanged INTEGER NOT NULL DEFAULT 0, moved INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0,
      failed INTEGER NOT NULL DEFAULT 0);
    INSERT INTO meta VALUES ('generation', '7'), ('model_name', 'm'), ('model_fingerprint', 'fp'), ('embedding_dim', '2');
    INSERT INTO videos VALUES (5, '/v/a.mp4', 1, 2, 'fa', 3, 25, 64, 48, 'indexed', NULL, 0);
    INSERT INTO videos VALUES (9, '/v/bad.mp4', 1, 2, 'fb', 0, 0, 0, 0, 'failed', 'no clips', 0);
    INSERT INTO clips VALUES (40, 5, 0, 4, X'0000803F00000000', NULL);
    INSERT INTO clips VALUES (41, 5, 4, 8, X'000000000000803F', NULL);
    PRAGMA user_version = 1;)");
}

}  // namespace

TEST_CASE("re-embedding the video with the highest clip ids never leaves its old vectors in the IVF index", "[index]") {
  // The reported case: the IVF path (exact limit 10) with 18 clips; the newest video changes and is saved
  // again. Its new clips must be found at 1.0, through an index updated in place and after `reindex`.
  test::TempDir tmp;
  ScopedEnv limit("XSEARCH_EXACT_LIMIT", "10");
  std::mt19937 rng(11);
  const int dim = 16;
  Library lib = Library::open(tmp / "lib.db", true);
  lib.claim_model({"m", "fp", dim});
  for (int v = 0; v < 3; ++v) lib.save_video(video("/v/" + std::to_string(v) + ".mp4"), clips_of(rng, 6, dim));
  lib.rebuild_index();
  const auto changed = clips_of(rng, 6, dim);
  lib.save_video(video("/v/2.mp4"), changed);
  lib.rebuild_index();
  for (bool from_scratch : {false, true}) {
    if (from_scratch) lib.rebuild_index({}, true);
    Library reader = Library::open(tmp / "lib.db", false);
    const auto hit = reader.search(changed[2].embedding, 3);
    REQUIRE(!hit.empty());
    // 1e-5: one float32 dot product of unit vectors of 16 values.
    CHECK(hit[0].second == Approx(1.0).margin(1e-5));
    CHECK(reader.clips_by_id({hit[0].first}).at(0).start == 4.0);
  }
}

TEST_CASE("clip and video ids are never reused after a re-embed or a removal", "[index]") {
  test::TempDir tmp;
  std::mt19937 rng(1);
  Library lib = Library::open(tmp / "lib.db", true);
  lib.claim_model({"m", "fp", 4});
  lib.save_video(video("/v/a.mp4"), clips_of(rng, 2, 4));
  lib.save_video(video("/v/b.mp4"), clips_of(rng, 2, 4));
  const int64_t b = lib.find_video("/v/b.mp4")->id;
  const auto old_clips = lib.clips_of_video(b);
  lib.save_video(video("/v/b.mp4"), clips_of(rng, 2, 4));
  for (const auto& c : lib.clips_of_video(b)) CHECK(c.id > old_clips.back().id);
  const int64_t newest_clip = lib.clips_of_video(b).back().id;
  lib.remove_video(b);
  lib.save_video(video("/v/c.mp4"), clips_of(rng, 1, 4));
  const auto c = lib.find_video("/v/c.mp4");
  CHECK(c->id > b);
  CHECK(lib.clips_of_video(c->id).at(0).id > newest_clip);
}

TEST_CASE("a version 1 library migrates to version 2 with its rows and ids, and partial videos can be saved", "[index]") {
  test::TempDir tmp;
  const fs::path db = tmp / "old.db";
  make_version1_library(db);
  {
    Library lib = Library::open(db, true);
    CHECK(lib.uuid().size() == 36);
    CHECK(lib.find_video("/v/a.mp4")->id == 5);
    CHECK(lib.find_video("/v/bad.mp4")->status == "failed");
    const auto clips = lib.clips_of_video(5);
    REQUIRE(clips.size() == 2);
    CHECK(clips[0].id == 40);
    CHECK(clips[1].id == 41);
    CHECK(lib.clip_embedding(41) == std::vector<float>{0, 1});
    VideoRecord partial = video("/v/cut.mp4");
    partial.status = "partial";
    partial.error = "read error at 3.2 s";
    lib.save_video(partial, {{0, 4, {1, 0}, {}}});
    CHECK(lib.find_video("/v/cut.mp4")->status == "partial");
    CHECK(lib.find_video("/v/cut.mp4")->error == "read error at 3.2 s");
    CHECK(lib.clips_of_video(lib.find_video("/v/cut.mp4")->id).at(0).id > 41);
    const VideoCounts n = lib.video_counts();
    CHECK(n.indexed == 1);
    CHECK(n.partial == 1);
    CHECK(n.failed == 1);
    CHECK(lib.video_count() == 2);
  }
  const auto r = xsearch_run("info --json --db " + quote(db.string()));
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["partial"] == 1);
  sqlite(db, "PRAGMA integrity_check");
}

TEST_CASE("an older library reads as it is, and migrates to the current version (5) with every video's device unknown and its clips counted", "[index]") {
  test::TempDir tmp;
  const fs::path db = tmp / "old.db";
  make_version1_library(db);
  {
    const Library reader = Library::open(db, false);  // a query on an old library: no dev column yet
    const auto videos = reader.videos();
    REQUIRE(videos.size() == 2);
    CHECK(videos[0].dev == 0);
  }
  {
    Library lib = Library::open(db, true);
    CHECK(lib.find_video("/v/a.mp4")->dev == 0);  // unknown until an ingest sees the file again
    CHECK(lib.clip_count() == 2);  // the two clips of the version-1 file, counted by the migration
    VideoRecord seen = video("/v/new.mp4");
    seen.dev = 2049;
    lib.save_video(seen, {{0, 4, {1, 0}, {}}});
    CHECK(lib.find_video("/v/new.mp4")->dev == 2049);
    lib.touch_video(5, 1, 2, 77);
    CHECK(lib.find_video("/v/a.mp4")->dev == 77);
    lib.touch_video(5, 1, 2);  // no device given: the known one stays
    CHECK(lib.find_video("/v/a.mp4")->dev == 77);
  }
  const auto r = xsearch_run("info --json --db " + quote(db.string()));
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["videos"] == 2);
  FILE* p = ::popen(("sqlite3 " + quote(db.string()) + " 'PRAGMA user_version'").c_str(), "r");
  char buf[16] = {};
  REQUIRE(p);
  CHECK(std::string(std::fgets(buf, sizeof buf, p) ? buf : "") == "5\n");  // schema 5: exclusions
  ::pclose(p);
}

TEST_CASE("a query on a stale index writes nothing and answers with the clips stored since, without the deleted ones", "[index]") {
  test::TempDir tmp;
  std::mt19937 rng(3);
  const int dim = 8;
  Library writer = Library::open(tmp / "lib.db", true);
  writer.claim_model({"m", "fp", dim});
  const auto first = clips_of(rng, 4, dim), second = clips_of(rng, 4, dim);
  writer.save_video(video("/v/first.mp4"), first);
  writer.save_video(video("/v/second.mp4"), second);
  writer.rebuild_index();
  // An ingest in progress: a video committed, another removed, the index not yet rebuilt.
  const auto third = clips_of(rng, 3, dim);
  writer.save_video(video("/v/third.mp4"), third);
  writer.remove_video(writer.find_video("/v/first.mp4")->id);
  const auto before = listing(tmp.path());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a rewrite would show in the mtimes
  Library reader = Library::open(tmp / "lib.db", false);
  const auto hit = reader.search(third[1].embedding, 3);
  REQUIRE(!hit.empty());
  CHECK(hit[0].second == Approx(1.0).margin(1e-5));  // float32 dot product of unit 8-vectors
  CHECK(reader.clips_by_id({hit[0].first}).at(0).path == "/v/third.mp4");
  for (const auto& [id, score] : reader.search(first[0].embedding, 20)) CHECK(reader.clips_by_id({id}).size() == 1);
  CHECK(reader.search(first[0].embedding, 20).size() == 7);  // 4 + 3 clips live
  CHECK(reader.index_note().empty());
  CHECK(listing(tmp.path()) == before);
}

TEST_CASE("an index file of another library is never served", "[index]") {
  test::TempDir tmp;
  std::mt19937 rng(5);
  const int dim = 8;
  fs::create_directories(tmp / "a");
  fs::create_directories(tmp / "b");
  Library a = Library::open(tmp / "a" / "lib.db", true), b = Library::open(tmp / "b" / "lib.db", true);
  a.claim_model({"m", "fp", dim});
  b.claim_model({"m", "fp", dim});
  const auto mine = clips_of(rng, 2, dim);
  a.save_video(video("/a.mp4"), mine);
  b.save_video(video("/b.mp4"), clips_of(rng, 2, dim));  // same generation, same ids, other vectors
  b.rebuild_index();
  fs::copy_file(tmp / "b" / "lib.index", tmp / "a" / "lib.index");
  Library reader = Library::open(tmp / "a" / "lib.db", false);
  const auto hit = reader.search(mine[0].embedding, 1);
  REQUIRE(hit.size() == 1);
  CHECK(hit[0].second == Approx(1.0).margin(1e-5));
  CHECK_THAT(reader.index_note(), Catch::Contains("another library"));
}

TEST_CASE("a crafted index header is a clear error, never an overflow, and the query still answers", "[index]") {
  IndexHeader h;
  h.library_uuid = std::string(36, 'a');
  h.count = 3;
  h.dim = 4;
  h.max_id = 3;
  std::string bytes = encode_index_header(h);
  uint64_t ids_at, vectors_at, total;
  REQUIRE(exact_file_layout(3, 4, ids_at, vectors_at, total));
  CHECK(parse_index_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), total).count == 3);
  CHECK_THROWS_WITH(parse_index_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), total - 1), Catch::Contains("truncated"));
  // count x dim x 4 wraps around 2^64 to a small number: must not be taken for the file's size.
  h.count = int64_t{1} << 40;
  h.dim = int64_t{1} << 16;
  h.max_id = h.count;
  bytes = encode_index_header(h);
  CHECK_THROWS_AS(parse_index_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 4096), Error);
  h.count = std::numeric_limits<int64_t>::max();
  bytes = encode_index_header(h);
  CHECK_THROWS_WITH(parse_index_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 4096), Catch::Contains("impossible vector count"));
  CHECK_THROWS_AS(parse_index_header(reinterpret_cast<const uint8_t*>(bytes.data()), 10, 4096), Error);

  test::TempDir tmp;
  std::mt19937 rng(9);
  Library lib = Library::open(tmp / "lib.db", true);
  lib.claim_model({"m", "fp", 8});
  const auto clips = clips_of(rng, 2, 8);
  lib.save_video(video("/a.mp4"), clips);
  lib.rebuild_index();
  std::string file = test::read_file(tmp / "lib.index");
  const int64_t huge = int64_t{1} << 62;
  std::memcpy(&file[60], &huge, sizeof huge);  // the count field
  test::write_file(tmp / "lib.index", file);
  Library reader = Library::open(tmp / "lib.db", false);
  const auto hit = reader.search(clips[1].embedding, 1);
  REQUIRE(hit.size() == 1);
  CHECK(hit[0].second == Approx(1.0).margin(1e-5));
  CHECK_THAT(reader.index_note(), Catch::Contains("lib.index") && Catch::Contains("impossible vector count"));
}

TEST_CASE("index writes remove temp files of killed processes and their own on cancel", "[index]") {
  test::TempDir tmp;
  std::mt19937 rng(2);
  Library lib = Library::open(tmp / "lib.db", true);
  lib.claim_model({"m", "fp", 8});
  lib.save_video(video("/a.mp4"), clips_of(rng, 3, 8));
  // A pid that has surely ended: a child we started and reaped.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const fs::path stale = tmp / ("lib.index." + std::to_string(child) + ".tmp");
  const fs::path alive = tmp / ("lib.index." + std::to_string(::getppid()) + ".tmp");  // a running process
  const fs::path other = tmp / "lib.index.notes.tmp";
  // Today's names (io/atomic_file.hpp) carry the host: this host's with an ended pid go, another host's stay.
  const std::string random = ".0123456789abcdef.tmp";
  const fs::path stale_named = tmp / ("lib.index." + temp_host_name() + "." + std::to_string(child) + random);
  const fs::path other_host = tmp / ("lib.index.another-host." + std::to_string(child) + random);
  for (const auto& p : {stale, alive, other, stale_named, other_host}) test::write_file(p, "x");
  lib.rebuild_index();
  CHECK_FALSE(fs::exists(stale));
  CHECK_FALSE(fs::exists(stale_named));
  CHECK(fs::exists(alive));
  CHECK(fs::exists(other));
  CHECK(fs::exists(other_host));
  const std::string good = test::read_file(tmp / "lib.index");
  lib.save_video(video("/b.mp4"), clips_of(rng, 3, 8));
  CHECK_THROWS_AS(lib.rebuild_index([] { return true; }), IndexWriteCancelled);
  CHECK(test::read_file(tmp / "lib.index") == good);
  CHECK(test::temp_files_under(tmp.path()) == 3);  // alive, other and other_host: none of this writer's
}

TEST_CASE("an index file that cannot be replaced is an error naming it, and leaves no temp file", "[index]") {
  test::TempDir tmp;
  std::mt19937 rng(4);
  Library lib = Library::open(tmp / "lib.db", true);
  lib.claim_model({"m", "fp", 8});
  lib.save_video(video("/a.mp4"), clips_of(rng, 3, 8));
  // A folder (not empty) where the index file goes: rename() onto it fails (EISDIR).
  fs::create_directories(tmp / "lib.index");
  test::write_file(tmp / "lib.index" / "keep.txt", "someone's file");
  CHECK_THROWS_WITH(lib.rebuild_index(), Catch::Contains("lib.index: cannot replace the index file"));
  CHECK(test::temp_files_under(tmp.path()) == 0);
  CHECK(test::read_file(tmp / "lib.index" / "keep.txt") == "someone's file");
}

TEST_CASE("two processes creating the same new library at once both succeed", "[index]") {
  for (int round = 0; round < 10; ++round) {
    test::TempDir tmp;
    const fs::path db = tmp / "new" / "lib.db";
    std::vector<pid_t> children;
    for (int i = 0; i < 2; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        int status = 0;
        try {
          Library lib = Library::open(db, true);
          lib.claim_model({"m", "fp", 4});
          std::mt19937 rng(static_cast<unsigned>(i));
          lib.save_video(video("/v/" + std::to_string(i) + ".mp4"), clips_of(rng, 2, 4));
        } catch (const std::exception& e) {
          std::fprintf(stderr, "child %d: %s\n", i, e.what());
          status = 1;
        }
        ::_exit(status);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = -1;
      ::waitpid(pid, &status, 0);
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    CHECK(Library::open(db, false).clip_count() == 4);
  }
}

TEST_CASE("a second writer waits for the first with a message, or fails at once with --no-wait", "[index][cli]") {
  test::TempDir tmp;
  const fs::path db = tmp / "lib.db";
  auto first = std::make_unique<Library>(Library::open(db, true));
  std::string message;
  std::atomic<bool> opened{false};
  std::thread second([&] {
    LibraryOpenOptions o;
    o.writable = true;
    o.on_wait = [&](const std::string& m) { message = m; };
    Library lib = Library::open(db, o);
    opened = true;
  });
  for (int i = 0; i < 200 && message.empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(opened);
  CHECK_THAT(message, Catch::Contains("waiting for another xsearch writing " + db.string()) &&
                          Catch::Contains("pid " + std::to_string(::getpid())));
  // Readers never wait.
  CHECK(Library::open(db, false).clip_count() == 0);
  const auto r = xsearch_run("reindex --no-wait --db " + quote(db.string()));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("another xsearch (pid " + std::to_string(::getpid()) + ") is writing"));
  CHECK(xsearch_run("remove /v --no-wait --db " + quote(db.string())).status == 2);
  first.reset();
  second.join();
  CHECK(opened);
}

TEST_CASE("remove and reindex on a missing database fail naming it and create nothing", "[index][cli]") {
  test::TempDir tmp;
  const fs::path db = tmp / "typo" / "lib.db";
  for (const std::string cmd : {"reindex", "remove /v", "info", "export"}) {
    const auto r = xsearch_run(cmd + " --db " + quote(db.string()));
    INFO(cmd);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(db.string()) && Catch::Contains("no library here"));
    CHECK_FALSE(fs::exists(tmp / "typo"));
  }
}

TEST_CASE("a damaged meta value is a clear error naming the key, and SQL errors name the statement", "[index]") {
  test::TempDir tmp;
  { Library::open(tmp / "lib.db", true).claim_model({"m", "fp", 4}); }
  sqlite(tmp / "lib.db", "UPDATE meta SET value = 'twelve' WHERE key = 'generation'");
  Library lib = Library::open(tmp / "lib.db", false);
  CHECK_THROWS_WITH(lib.search({1, 0, 0, 0}, 3), Catch::Contains("lib.db") && Catch::Contains("meta value 'generation' is damaged"));
  sqlite(tmp / "lib.db", "UPDATE meta SET value = '4x' WHERE key = 'embedding_dim'");
  CHECK_THROWS_WITH(lib.model(), Catch::Contains("'embedding_dim' is damaged"));
  sqlite(tmp / "lib.db", "DROP TABLE clips");
  CHECK_THROWS_WITH(lib.clips_of_video(1), Catch::Contains("SELECT c.id, c.video_id, v.path") && Catch::Contains("no such table: clips"));
}

TEST_CASE("query results say when a video's file is offline", "[index][cli]") {
  test::TempDir tmp;
  test::write_file(tmp / "here.mp4", "x");
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 2});
    lib.save_video(video((tmp / "here.mp4").string()), {{0, 4, {1, 0}, {}}});
    lib.save_video(video((tmp / "gone.mp4").string()), {{0, 4, {0.8f, 0.6f}, {}}});
    lib.rebuild_index();
  }
  const auto r = xsearch_run("query --like " + quote((tmp / "here.mp4").string() + "@1") + " --json --db " + quote((tmp / "lib.db").string()));
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["results"].size() == 2);
  CHECK(j["results"][0]["offline"] == false);
  CHECK(j["results"][1]["offline"] == true);
  const auto text = xsearch_run("query --like " + quote((tmp / "here.mp4").string() + "@1") + " --db " + quote((tmp / "lib.db").string()));
  CHECK_THAT(text.out, Catch::Contains("gone.mp4  0:00-0:04  (offline)") || Catch::Contains("gone.mp4") && Catch::Contains("(offline)"));
}
