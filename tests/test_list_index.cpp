// The lists index of big libraries (index/vectors/list_index.hpp): an ingest writes only its added clips, a merge
// folds them in without retraining, deleted clips are skipped, the scores are exact, stale or damaged files
// are never trusted, and the clip count kept by triggers stays exact.
#include <sys/stat.h>

#include <cstring>
#include <random>
#include <set>

#include "helpers.hpp"
#include "library_backends.hpp"
#include "library_helpers.hpp"
#include "list_index_fixture.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

namespace {

constexpr int kDim = test::kListDim;
using ScopedLimit = test::ScopedExactLimit;
using Fixture = test::ListFixture;

std::vector<float> random_unit(std::mt19937& rng) { return test::random_unit(rng, kDim); }

// The kind of an index file (3 the lists main file, 4 its added clips).
uint32_t kind_of(const fs::path& file) { return test::index_kind(file); }

ino_t inode_of(const fs::path& file) {
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  return st.st_ino;
}

// The centroids of a Lists file: nlist x dim float32 from byte 192 (the 160-byte header, aligned to 64).
std::string centroid_bytes(const fs::path& file) {
  const std::string bytes = test::read_file(file);
  int64_t nlist = 0;
  std::memcpy(&nlist, bytes.data() + 96, 8);
  return bytes.substr(192, static_cast<std::size_t>(nlist) * kDim * 4);
}

}  // namespace

TEST_CASE("an ingest into a big library writes only its added clips, and a merge folds them in without retraining", "[index][postgres]") {
  ScopedLimit limit("500");
  Fixture f(GENERATE(std::string("sqlite"), std::string("postgres")));
  INFO("backend " << f.backend);
  for (int v = 0; v < 20; ++v) f.add_video(std::to_string(v), 100);
  f.lib.rebuild_index();
  REQUIRE(kind_of(f.index()) == 3);
  CHECK_FALSE(fs::exists(f.added()));
  const ino_t main_inode = inode_of(f.index());
  const std::string centroids = centroid_bytes(f.index());

  // 100 clips more: the main file is left as it is; the added-clips file holds exactly them.
  f.add_video("new", 100);
  f.lib.rebuild_index();
  CHECK(inode_of(f.index()) == main_inode);
  REQUIRE(fs::exists(f.added()));
  CHECK(kind_of(f.added()) == 4);
  CHECK(fs::file_size(f.added()) < fs::file_size(f.index()) / 10);
  const int64_t new_id = f.lib.clips_of_video(f.lib.find_video("/v/new.mp4")->id).at(7).id;
  {
    const auto hit = f.lib.search(f.vectors.at(new_id), 1);
    REQUIRE(hit.size() == 1);
    CHECK(hit[0].first == new_id);
    CHECK(f.lib.index_note().empty());
  }

  // A removal writes nothing: the removed clips are skipped by the search.
  f.remove("3");
  const int64_t added_size = static_cast<int64_t>(fs::file_size(f.added()));
  f.lib.rebuild_index();
  CHECK(inode_of(f.index()) == main_inode);
  CHECK(static_cast<int64_t>(fs::file_size(f.added())) == added_size);
  std::mt19937 qrng(5);
  for (int q = 0; q < 20; ++q) {
    const auto query = random_unit(qrng);
    const auto got = f.lib.search(query, 10);
    REQUIRE(got.size() == 10);  // no dead clip took a place
    for (const auto& [id, score] : got) {
      REQUIRE(f.vectors.count(id) == 1);
      // The score is the exact one, not the float16 code's: the same double sum of the stored float32.
      double dot = 0;
      for (int d = 0; d < kDim; ++d) dot += static_cast<double>(f.vectors.at(id)[d]) * query[d];
      CHECK(score == static_cast<float>(dot));
    }
  }

  // Additions past a quarter of the main file: one new main file, same centroids, no added-clips file,
  // and every clip of the library in it.
  for (int v = 0; v < 5; ++v) f.add_video("more" + std::to_string(v), 100);
  f.lib.rebuild_index();
  CHECK(inode_of(f.index()) != main_inode);
  CHECK(kind_of(f.index()) == 3);
  CHECK_FALSE(fs::exists(f.added()));
  CHECK(centroid_bytes(f.index()) == centroids);
  int64_t count_in_file = 0;
  std::memcpy(&count_in_file, test::read_file(f.index()).data() + 60, 8);
  CHECK(count_in_file == f.lib.clip_count());
  // The removed video's 100 ids: no file of a SQLite library holds them now, so they are dropped (its
  // readers reload a replaced file); a shared library keeps them for other machines' older caches.
  CHECK(test::sql_value(f.db, "SELECT count(*) FROM removed_clips") == (f.backend == "sqlite" ? "0" : "100"));

  // A fresh reader (another process would do the same) agrees with the brute force on the ids it returns
  // for a stored clip: its own vector comes first at score 1.
  Library reader = Library::open(f.db, false);
  for (const int64_t id : {f.vectors.begin()->first, new_id, f.vectors.rbegin()->first}) {
    const auto hit = reader.search(f.vectors.at(id), 3);
    REQUIRE(!hit.empty());
    CHECK(hit[0].first == id);
    CHECK(hit[0].second == f.exact(f.vectors.at(id), 1)[0].second);
  }
  CHECK(reader.index_note().empty());
}

TEST_CASE("an added-clips file of an earlier main file is never used, and a damaged lists file is reported and not trusted", "[index][postgres]") {
  ScopedLimit limit("300");
  Fixture f(GENERATE(std::string("sqlite"), std::string("postgres")));
  INFO("backend " << f.backend);
  for (int v = 0; v < 8; ++v) f.add_video(std::to_string(v), 100);
  f.lib.rebuild_index();
  f.add_video("a", 50);
  f.lib.rebuild_index();
  REQUIRE(fs::exists(f.added()));
  const std::string old_added = test::read_file(f.added());
  for (int v = 0; v < 3; ++v) f.add_video("b" + std::to_string(v), 100);
  f.lib.rebuild_index();  // merged
  REQUIRE_FALSE(fs::exists(f.added()));
  test::write_file(f.added(), old_added);  // as a crash between the rename and the removal would leave it
  Library reader = Library::open(f.db, false);
  for (const auto& [id, vector] : f.vectors) {
    if (id % 10 != 0) continue;
    // No clip twice (the old file's clips are in the main file too), and a stored clip finds itself first
    // (its list is the one whose centroid is nearest to it, the first visited).
    const auto got = reader.search(vector, 5);
    std::set<int64_t> ids;
    for (const auto& hit : got) CHECK(ids.insert(hit.first).second);
    CHECK(got.at(0) == f.exact(vector, 1).at(0));
  }
  CHECK(reader.index_note().empty());
  std::mt19937 qrng(8);

  // Damaged list offsets: the file is refused with its name and the cause, and every clip is scanned.
  std::string bytes = test::read_file(f.index());
  int64_t nlist = 0;
  std::memcpy(&nlist, bytes.data() + 96, 8);
  const std::size_t offsets_at = 192 + static_cast<std::size_t>(nlist) * kDim * 4;
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(&bytes[offsets_at + 8], &huge, 8);
  test::write_file(f.index(), bytes);
  Library again = Library::open(f.db, false);
  const auto query = random_unit(qrng);
  if (f.backend == "sqlite") {
    // A query never writes a library's files: every clip is scanned, and the note says why.
    CHECK(again.search(query, 10) == f.exact(query, 10));
    CHECK_THAT(again.index_note(), Catch::Contains("lib.index") && Catch::Contains("damaged list offsets"));
  } else {
    // A shared library's index is this machine's cache: the query builds it again, whole.
    const auto got = again.search(query, 10);
    CHECK(got.size() == 10);
    CHECK(got.at(0) == f.exact(query, 1).at(0));
    CHECK(test::read_file(f.index()) != bytes);
    CHECK(again.index_note().empty());
  }
}

TEST_CASE("the clip count kept by triggers stays exact through saves, replacements and removals", "[index][postgres]") {
  Fixture f(GENERATE(std::string("sqlite"), std::string("postgres")));
  INFO("backend " << f.backend);
  auto table_count = [&] { return std::stoll(test::sql_value(f.db, "SELECT count(*) FROM clips")); };
  f.add_video("a", 5);
  f.add_video("b", 7);
  CHECK(f.lib.clip_count() == 12);
  f.add_video("a", 2);  // re-saved: its 5 clips replaced by 2
  CHECK(f.lib.clip_count() == 9);
  f.remove("b");  // the clips go by the foreign key's cascade
  CHECK(f.lib.clip_count() == 2);
  CHECK(f.lib.clip_count() == table_count());
  CHECK(test::sql_value(f.db, "SELECT count(*) FROM removed_clips") == "12");
}
