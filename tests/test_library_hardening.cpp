// The library under attack (issue 25), through the API: an index file rewritten in place while a query
// maps it (row 2), a library reached through a symlink (row 8), and two smaller ones (row 13): the ids of
// deleted clips pruned by a rebuild, and a PostgreSQL run whose process is gone marked interrupted.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "helpers.hpp"
#include "library_backends.hpp"
#include "library_helpers.hpp"
#include "pg_server.hpp"
#include "../index/vectors/mapped_file.hpp"
#include "xsearch/error.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

namespace {

constexpr int kDim = 64;

// A library of `videos` x 10 clips of random unit vectors, with its index file written.
void fill_library(const fs::path& db, int videos) {
  std::mt19937 rng(25);
  Library lib = Library::open(db, true);
  lib.claim_model({"test-model", "fp-test", kDim});
  for (int v = 0; v < videos; ++v) {
    VideoRecord r;
    r.path = "/videos/" + std::to_string(v) + ".mp4";
    r.fingerprint = r.path;
    std::vector<ClipData> clips;
    for (int i = 0; i < 10; ++i) clips.push_back({i * 2.0, i * 2.0 + 2, test::random_unit(rng, kDim), {}});
    lib.save_video(r, clips);
  }
  lib.rebuild_index();
}

std::vector<int64_t> ids_of(const std::vector<std::pair<int64_t, float>>& hits) {
  std::vector<int64_t> out;
  for (const auto& h : hits) out.push_back(h.first);
  return out;
}

// Writes `bytes` over `path` in place, as `cp` does: truncated to nothing, then written in 16 KiB pieces.
void rewrite_in_place(const fs::path& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return;
  for (std::size_t at = 0; at < bytes.size(); at += 16384) {
    const std::size_t n = std::min<std::size_t>(16384, bytes.size() - at);
    if (::write(fd, bytes.data() + at, n) != static_cast<ssize_t>(n)) break;
  }
  ::close(fd);
}

}  // namespace

TEST_CASE("a mapped index file cut short under its reader reads zeros and says so, instead of SIGBUS", "[index]") {
  test::TempDir tmp;
  const fs::path file = tmp / "f.index";
  test::write_file(file, std::string(64 * 1024, '\x7f'));
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto map = MappedFile::map(file, fd, 64 * 1024, true);
  ::close(fd);
  CHECK(map->intact());
  REQUIRE(::truncate(file.c_str(), 4096) == 0);
  CHECK_FALSE(map->intact());  // the size check, before any page is touched
  // Every page after the first is gone from the file: reading them raised SIGBUS and killed the process.
  long sum = 0;
  for (std::size_t i = 0; i < map->size(); i += 4096) sum += map->data()[i];
  CHECK(sum == 0x7f);  // the first page is still the file's; the lost ones read as zeros
  CHECK_FALSE(map->intact());
}

TEST_CASE("a query never dies while the index file is cut short or rewritten in place, and answers as without it", "[index]") {
  test::TempDir tmp;
  const fs::path db = tmp / "lib.db";
  fill_library(db, 40);  // 400 clips: an exact index file of about 110 KB
  Library lib = Library::open(db, false);
  const fs::path index = lib.index_path();
  REQUIRE(fs::exists(index));
  const std::string bytes = test::read_file(index);
  std::mt19937 rng(7);
  const std::vector<float> query = test::random_unit(rng, kDim);
  const auto expected = ids_of(lib.search(query, 10));
  REQUIRE(expected.size() == 10);
  REQUIRE(lib.index_note().empty());

  SECTION("cut short under an open library") {
    REQUIRE(::truncate(index.c_str(), 8192) == 0);
    CHECK(ids_of(lib.search(query, 10)) == expected);  // the exact scan of the stored clips
    CHECK_THAT(lib.index_note(), Catch::Contains("lib.index"));
    rewrite_in_place(index, bytes);
    CHECK(ids_of(lib.search(query, 10)) == expected);
  }
  SECTION("rewritten in place in a loop while queries run, from open libraries and fresh ones") {
    std::atomic<bool> done{false};
    std::thread writer([&] {
      while (!done) rewrite_in_place(index, bytes);
    });
    int mismatches = 0;
    for (int i = 0; i < 300; ++i) {
      if (ids_of(lib.search(query, 10)) != expected) ++mismatches;
      if (i % 10 == 0 && ids_of(Library::open(db, false).search(query, 10)) != expected) ++mismatches;
    }
    done = true;
    writer.join();
    CHECK(mismatches == 0);
  }
}

TEST_CASE("a library reached through a symlink shares the real file's writer lock, index and cache", "[index]") {
  test::TempDir tmp;
  fs::create_directories(tmp / "real");
  fs::create_directories(tmp / "links");
  const fs::path db = tmp / "real" / "lib.db", alias = tmp / "links" / "alias.db";
  fill_library(db, 2);
  fs::create_symlink("../real/lib.db", alias);
  LibraryOpenOptions no_wait;
  no_wait.writable = true;
  no_wait.wait = false;
  {
    // flock is per open file: a second open of the lock file, even in this process, is refused.
    Library holder = Library::open(db, no_wait);
    CHECK_THROWS_WITH(Library::open(alias, no_wait), Catch::Contains("another xsearch"));
  }
  {
    Library holder = Library::open(alias, no_wait);
    CHECK_THROWS_WITH(Library::open(db, no_wait), Catch::Contains("another xsearch"));
    CHECK(holder.index_path() == tmp / "real" / "lib.index");
    CHECK(holder.media_base() == db);
    holder.rebuild_index();
  }
  // Nothing was made beside the link: no lock file, index or thumbnail cache of its own.
  std::vector<std::string> beside;
  for (const auto& e : fs::directory_iterator(tmp / "links")) beside.push_back(e.path().filename().string());
  CHECK(beside == std::vector<std::string>{"alias.db"});
  CHECK(Library::open(alias, false).video_count() == 2);
  CHECK(Library::open(alias, false).path() == alias);  // messages name what the user typed
}

TEST_CASE("a new library created through a dangling symlink is made at its target, with the lock beside it", "[index]") {
  test::TempDir tmp;
  fs::create_symlink("target.db", tmp / "alias.db");
  {
    Library lib = Library::open(tmp / "alias.db", true);
    CHECK(fs::exists(tmp / "target.db.lock"));
  }
  CHECK(fs::exists(tmp / "target.db"));
  CHECK_FALSE(fs::exists(tmp / "alias.db.lock"));
}

TEST_CASE("a rebuilt index drops the ids of deleted clips, and a reader on the previous file still answers in full", "[index]") {
  test::TempDir tmp;
  const fs::path db = tmp / "lib.db";
  fill_library(db, 10);
  Library reader = Library::open(db, false);
  std::mt19937 rng(9);
  const std::vector<float> query = test::random_unit(rng, kDim);
  REQUIRE(reader.search(query, 5).size() == 5);  // the first index file, loaded
  {
    Library writer = Library::open(db, true);
    for (int v = 0; v < 4; ++v) writer.remove_video(writer.find_video("/videos/" + std::to_string(v) + ".mp4")->id);
    CHECK(test::sqlite_value(db, "SELECT count(*) FROM removed_clips") == "40");
    writer.rebuild_index();
    // No index file holds them now: 69 rows were seen left after a reindex before.
    CHECK(test::sqlite_value(db, "SELECT count(*) FROM removed_clips") == "0");
  }
  const auto hits = reader.search(query, 60);  // all 60 clips left, none of the deleted ones
  CHECK(hits.size() == 60);
  for (const auto& h : hits) CHECK(h.first > 40);  // the first four videos held clip ids 1 to 40
}

TEST_CASE("a PostgreSQL run whose session ended without a word is marked interrupted by the next run, a live one is not", "[index][postgres]") {
  test::TempDir tmp;
  test::ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
  const std::string db = test::new_library("postgres", tmp.path());
  int64_t gone = 0;
  {
    Library killed = Library::open(db, true);
    gone = killed.begin_run({"/a"});
  }  // its connection closed without finish_run: as a kill -9 or a server restart leaves it
  Library live = Library::open(db, true);
  const int64_t running = live.begin_run({"/b"});
  CHECK(test::sql_value(db, "SELECT status FROM runs WHERE id = " + std::to_string(gone)) == "interrupted");
  Library next = Library::open(db, true);
  const int64_t third = next.begin_run({"/c"});
  CHECK(test::sql_value(db, "SELECT status FROM runs WHERE id = " + std::to_string(running)) == "running");
  next.finish_run(third, RunSummary{}, "done");
  live.finish_run(running, RunSummary{}, "done");
  CHECK(test::sql_value(db, "SELECT count(*) FROM runs WHERE status = 'done'") == "2");
}
