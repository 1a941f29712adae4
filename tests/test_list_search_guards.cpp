// What the search of a library's index must get right where a plausible slip would still pass the other
// tests (issue 26): the lists scan's shortlist is large enough for the exact top k, deleted clips never take
// its places, and an exact file longer than its header says is not used.
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "helpers.hpp"
#include "list_index_fixture.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

namespace {

constexpr int kDim = test::kListDim;

// A unit vector whose inner product with the unit vector `q` is exactly `score` (up to float rounding):
// score * q plus a random direction orthogonal to q.
std::vector<float> at_score(const std::vector<float>& q, double score, std::mt19937& rng) {
  std::vector<float> r = test::random_unit(rng, kDim);
  double along = 0;
  for (int d = 0; d < kDim; ++d) along += static_cast<double>(r[d]) * q[d];
  std::vector<double> u(kDim);
  double norm = 0;
  for (int d = 0; d < kDim; ++d) norm += (u[d] = r[d] - along * q[d]) * u[d];
  std::vector<float> v(kDim);
  const double side = std::sqrt(1 - score * score) / std::sqrt(norm);
  for (int d = 0; d < kDim; ++d) v[d] = static_cast<float>(score * q[d] + side * u[d]);
  return v;
}

std::vector<int64_t> ids_of(const std::vector<std::pair<int64_t, float>>& hits) {
  std::vector<int64_t> ids;
  for (const auto& h : hits) ids.push_back(h.first);
  return ids;
}

}  // namespace

TEST_CASE("a lists search with k >= 32 returns the exact top k even where float16 codes cannot order them", "[index][postgres]") {
  test::ScopedExactLimit limit("300");
  test::ListFixture f(GENERATE(std::string("sqlite"), std::string("postgres")));
  INFO("backend " << f.backend);
  std::mt19937 rng(4);
  const auto q = test::random_unit(rng, kDim);
  // 200 clips near the query, 1e-5 apart in score: float16 codes of dimension-32 unit vectors score within
  // about 1e-4 of the exact value (10-bit mantissas: ~5e-4 relative per value, summed over 32 products), so
  // their approximate order is scrambled over about ten places, yet 64 places span 6.4e-4, more than any
  // code's error: a shortlist of twice k holds the exact top k, a shortlist of k misses some of them.
  std::vector<std::vector<float>> near;
  for (int i = 0; i < 200; ++i) near.push_back(at_score(q, 0.998 - i * 1e-5, rng));
  f.add_video("near", 200, near);
  for (int v = 0; v < 6; ++v) f.add_video(std::to_string(v), 100);
  f.lib.rebuild_index();
  REQUIRE(test::index_kind(f.index()) == 3);
  for (const std::size_t k : {32u, 64u, 100u}) {
    INFO("k " << k);
    const auto got = f.lib.search(q, static_cast<int64_t>(k));
    CHECK(ids_of(got) == ids_of(f.exact(q, k)));
  }
}

TEST_CASE("clips of a removed video never take a lists search's places: k live clips, as brute force finds them", "[index][postgres]") {
  test::ScopedExactLimit limit("300");
  test::ListFixture f(GENERATE(std::string("sqlite"), std::string("postgres")));
  INFO("backend " << f.backend);
  std::mt19937 rng(9);
  const auto q = test::random_unit(rng, kDim);
  // 60 clips nearer the query than any other, then 100 that are also near: the 60 fill a 2k shortlist
  // (k = 40) if the scan does not skip them once their video is gone.
  std::vector<std::vector<float>> nearest, near;
  for (int i = 0; i < 60; ++i) nearest.push_back(at_score(q, 0.99 - i * 1e-4, rng));
  for (int i = 0; i < 100; ++i) near.push_back(at_score(q, 0.9 - i * 1e-3, rng));
  f.add_video("nearest", 60, nearest);
  f.add_video("near", 100, near);
  for (int v = 0; v < 6; ++v) f.add_video(std::to_string(v), 100);
  f.lib.rebuild_index();
  REQUIRE(test::index_kind(f.index()) == 3);
  const auto main_before = test::read_file(f.index());
  f.remove("nearest");
  f.lib.rebuild_index();  // 60 of 860 removed: below the merge threshold, the main file stays as it was
  REQUIRE(test::read_file(f.index()) == main_before);
  for (const std::size_t k : {10u, 40u}) {
    INFO("k " << k);
    const auto got = f.lib.search(q, static_cast<int64_t>(k));
    CHECK(ids_of(got) == ids_of(f.exact(q, k)));
  }
  Library reader = Library::open(f.db, false);  // a fresh reader reads the removed ids from the database
  CHECK(ids_of(reader.search(q, 40)) == ids_of(f.exact(q, 40)));
}

TEST_CASE("an exact index file longer than its header says is reported as damaged and not used", "[index]") {
  test::ListFixture f("sqlite");
  for (int v = 0; v < 3; ++v) f.add_video(std::to_string(v), 20);
  f.lib.rebuild_index();
  REQUIRE(test::index_kind(f.index()) == 1);
  std::mt19937 rng(3);
  const auto q = test::random_unit(rng, kDim);
  {
    Library reader = Library::open(f.db, false);
    CHECK(ids_of(reader.search(q, 5)) == ids_of(f.exact(q, 5)));  // the file's scores are float sums: ids compared
    REQUIRE(reader.index_note().empty());
  }
  // 64 bytes more than the header's count and dimension describe, as a copy over a longer old file leaves.
  std::ofstream(f.index(), std::ios::binary | std::ios::app) << std::string(64, '\x7f');
  Library reader = Library::open(f.db, false);
  CHECK(ids_of(reader.search(q, 5)) == ids_of(f.exact(q, 5)));  // answered from the stored embeddings
  CHECK_THAT(reader.index_note(), Catch::Contains("lib.index") && Catch::Contains("bytes; its header describes"));
}

TEST_CASE("a stale added-clips file whose clips were removed since takes no places from live clips", "[index][postgres]") {
  test::ScopedExactLimit limit("300");
  test::ListFixture f(GENERATE(std::string("sqlite"), std::string("postgres")));
  INFO("backend " << f.backend);
  std::mt19937 rng(12);
  const auto q = test::random_unit(rng, kDim);
  for (int v = 0; v < 8; ++v) f.add_video(std::to_string(v), 100);
  f.lib.rebuild_index();
  // 60 clips nearer the query than any other, in an added-clips file; the file is kept aside.
  std::vector<std::vector<float>> nearest;
  for (int i = 0; i < 60; ++i) nearest.push_back(at_score(q, 0.99 - i * 1e-4, rng));
  f.add_video("nearest", 60, nearest);
  f.lib.rebuild_index();
  REQUIRE(fs::exists(f.added()));
  const std::string stale = test::read_file(f.added());
  // Their video removed and 300 clips added: the next rebuild merges, and the main file counts no deleted
  // clip, so no search skips the 60 ids any more.
  f.remove("nearest");
  for (int v = 0; v < 3; ++v) f.add_video("b" + std::to_string(v), 100);
  f.lib.rebuild_index();
  REQUIRE_FALSE(fs::exists(f.added()));
  // What a reader answers without the file: the remaining clips are random, so a lists search (which visits
  // the nearest lists only) need not find the brute-force top k; the answer must simply not change.
  std::map<std::size_t, std::vector<int64_t>> without;
  {
    Library reader = Library::open(f.db, false);
    for (const std::size_t k : {10u, 40u}) without[k] = ids_of(reader.search(q, static_cast<int64_t>(k)));
  }
  // The old file back, as a crash between a merge's rename and the removal of the added file leaves it:
  // read, its 60 gone clips would fill every shortlist place of k = 10 (42 places) and leave no result.
  test::write_file(f.added(), stale);
  Library reader = Library::open(f.db, false);
  for (const std::size_t k : {10u, 40u}) {
    INFO("k " << k);
    CHECK(without[k].size() == k);
    CHECK(ids_of(reader.search(q, static_cast<int64_t>(k))) == without[k]);
  }
}
