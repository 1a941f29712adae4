// The query's filters and the library's transaction at their edges (issue 15): --min-score at and between
// known scores, --path finding a match ranked far below the first candidates, and a video whose save fails
// midway leaving nothing of itself. Scores are made known by storing chosen vectors and searching with
// --like, which needs no model: the source clip is (1, 0, 0) and a clip (c, s, 0) scores exactly c.
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "xsearch/error.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
using xsearch::test::quote;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

VideoRecord video(const fs::path& path) {
  VideoRecord r;
  r.path = path.string();
  r.fingerprint = path.string();
  return r;
}

// A unit vector whose inner product with (1, 0, 0) is `score`: (score, sqrt(1 - score^2), 0).
std::vector<float> scoring(float score) { return {score, std::sqrt(1.0f - score * score), 0.0f}; }

nlohmann::json like(const test::TempDir& tmp, const std::string& args, int expected_status) {
  const auto r = xsearch_run("query --like " + quote((tmp / "source.mp4").string() + "@1") + " " + args + " --json --db " +
                             quote((tmp / "lib.db").string()));
  INFO(r.err);
  REQUIRE(r.status == expected_status);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("query --min-score keeps a result whose score equals the threshold and drops those below it", "[index][cli]") {
  test::TempDir tmp;
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 3});
    lib.save_video(video(tmp / "source.mp4"), {{0, 4, {1, 0, 0}, {}}});
    // 0.5 and 0.25 are exact in float32, and so are their inner products with (1, 0, 0).
    lib.save_video(video(tmp / "half.mp4"), {{0, 4, scoring(0.5f), {}}});
    lib.save_video(video(tmp / "quarter.mp4"), {{0, 4, scoring(0.25f), {}}});
    lib.rebuild_index();
  }
  const auto paths = [](const nlohmann::json& j) {
    std::vector<std::string> out;
    for (const auto& hit : j["results"]) out.push_back(fs::path(hit["path"].get<std::string>()).filename().string());
    return out;
  };
  CHECK(paths(like(tmp, "", 0)) == std::vector<std::string>{"source.mp4", "half.mp4", "quarter.mp4"});
  CHECK(paths(like(tmp, "--min-score 0.5", 0)) == std::vector<std::string>{"source.mp4", "half.mp4"});  // equal: kept
  CHECK(paths(like(tmp, "--min-score 0.4", 0)) == std::vector<std::string>{"source.mp4", "half.mp4"});  // between
  CHECK(paths(like(tmp, "--min-score 0.25", 0)) == std::vector<std::string>{"source.mp4", "half.mp4", "quarter.mp4"});
  CHECK(paths(like(tmp, "--min-score 1.0", 0)) == std::vector<std::string>{"source.mp4"});
  CHECK(like(tmp, "--min-score 1.01", 1)["results"].empty());  // nothing found: exit 1
}

TEST_CASE("query --path finds a matching clip ranked far below the first candidates", "[index][cli]") {
  test::TempDir tmp;
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 3});
    lib.save_video(video(tmp / "source.mp4"), {{0, 4, {1, 0, 0}, {}}});
    // 300 videos outside the wanted folder score above the one inside it: with -k 1 the default pool is
    // 64 candidates, so the match (rank 302) is found only if the filter widens the search.
    for (int i = 0; i < 300; ++i)
      lib.save_video(video(tmp.path() / "other" / ("v" + std::to_string(i) + ".mp4")), {{0, 4, scoring(0.9f - i * 0.001f), {}}});
    lib.save_video(video(tmp.path() / "wanted" / "deep.mp4"), {{0, 4, scoring(0.1f), {}}});
    lib.rebuild_index();
  }
  const auto j = like(tmp, "-k 1 --path " + quote("*/wanted/*"), 0);
  REQUIRE(j["results"].size() == 1);
  CHECK(j["results"][0]["path"] == (tmp.path() / "wanted" / "deep.mp4").string());
  CHECK(std::abs(j["results"][0]["score"].get<double>() - 0.1) < 1e-6);  // float32 rounding of 0.1
  // And a filter that matches nothing finds nothing (exit 1), rather than falling back to other paths.
  CHECK(like(tmp, "--path " + quote("*/missing/*"), 1)["results"].empty());
}

TEST_CASE("a video whose save fails midway leaves nothing of itself and the library as it was", "[index]") {
  test::TempDir tmp;
  const auto db = tmp / "lib.db";
  {
    Library lib = Library::open(db, true);
    lib.claim_model({"m", "fp", 3});
    lib.save_video(video(tmp / "kept.mp4"), {{0, 4, {1, 0, 0}, {}}});
  }
  // A trigger that aborts the insert of a video's second clip: the save's first writes (the video row, its
  // first clip) have happened when it fails.
  REQUIRE(std::system(("sqlite3 " + quote(db.string()) +
                       " \"CREATE TRIGGER second_clip BEFORE INSERT ON clips WHEN (SELECT count(*) FROM clips WHERE"
                       " video_id = NEW.video_id) >= 1 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;\"")
                          .c_str()) == 0);
  Library lib = Library::open(db, true);
  const std::vector<ClipData> clips = {{0, 4, {1, 0, 0}, {}}, {4, 8, {0, 1, 0}, {}}, {8, 12, {0, 0, 1}, {}}};
  CHECK_THROWS_WITH(lib.save_video(video(tmp / "broken.mp4"), clips), Catch::Contains("injected failure"));
  CHECK_FALSE(lib.find_video((tmp / "broken.mp4").string()).has_value());
  CHECK(lib.clip_count() == 1);
  REQUIRE(lib.find_video((tmp / "kept.mp4").string()).has_value());
  // Re-saving the kept video also fails at its second clip: its old row and clip must survive intact.
  CHECK_THROWS(lib.save_video(video(tmp / "kept.mp4"), clips));
  const auto kept = lib.find_video((tmp / "kept.mp4").string());
  REQUIRE(kept.has_value());
  CHECK(lib.clips_of_video(kept->id).size() == 1);
  CHECK(lib.clip_count() == 1);
}
