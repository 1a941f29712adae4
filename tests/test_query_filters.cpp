// The query's filters and the library's transaction at their edges (issue 15): --min-score at and between
// known scores, --path finding a match ranked far below the first candidates, and a video whose save fails
// midway leaving nothing of itself. Scores are made known by storing chosen vectors and searching with
// --like, which needs no model: the source clip is (1, 0, 0) and a clip (c, s, 0) scores exactly c.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

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

// Issue 23: results people can use. A one-hour video whose every clip matches, and -k 5/10/15/24: the hits
// used to merge into fewer, longer segments (at k = 24 one hit, the whole hour).
namespace {

// A library with `source.mp4` (the --like clip, (1, 0, 0)) and `hour.mp4`: 900 clips of 4 s, every one
// scoring between 0.5 and 0.9 (a slow wave, so that peaks are known), all touching.
std::vector<float> hour_scores() {
  std::vector<float> s;
  for (int i = 0; i < 900; ++i) s.push_back(0.7f + 0.2f * std::sin(i * 0.37f));
  return s;
}

void make_hour_library(const test::TempDir& tmp) {
  Library lib = Library::open(tmp / "lib.db", true);
  lib.claim_model({"m", "fp", 3});
  lib.save_video(video(tmp / "source.mp4"), {{0, 4, {1, 0, 0}, {}}});
  std::vector<ClipData> clips;
  const auto scores = hour_scores();
  for (int i = 0; i < 900; ++i) clips.push_back({4.0 * i, 4.0 * i + 4, scoring(scores[static_cast<std::size_t>(i)]), {}});
  lib.save_video(video(tmp / "hour.mp4"), clips);
  lib.rebuild_index();
}

}  // namespace

TEST_CASE("query -k is the number of results: segments are capped at --max-segment and carry their peak", "[index][cli]") {
  test::TempDir tmp;
  make_hour_library(tmp);
  const auto scores = hour_scores();
  for (const int k : {5, 10, 15, 24}) {
    INFO("-k " << k);
    const auto j = like(tmp, "-k " + std::to_string(k), 0);
    REQUIRE(j["results"].size() == static_cast<std::size_t>(k));
    for (std::size_t i = 1; i < j["results"].size(); ++i) {
      const auto& hit = j["results"][i];
      const double start = hit["start"], end = hit["end"], peak = hit["peak"];
      // Three windows at most (the default), the peak inside, its score the segment's score and the
      // best of the segment's clips.
      CHECK(end - start <= 12.0 + 1e-6);
      CHECK(peak >= start);
      CHECK(peak < end);
      CHECK(hit["peak_end"].get<double>() == Approx(peak + 4));
      CHECK(hit["peak_score"] == hit["score"]);
      const auto ids = hit["clip_ids"].get<std::vector<int64_t>>();
      CHECK(std::find(ids.begin(), ids.end(), hit["peak_clip_id"].get<int64_t>()) != ids.end());
      for (double t = start; t < end - 1e-6; t += 4)
        CHECK(scores[static_cast<std::size_t>(t / 4)] <= scores[static_cast<std::size_t>(peak / 4)] + 1e-6);
      CHECK(std::abs(hit["score"].get<double>() - scores[static_cast<std::size_t>(peak / 4)]) < 1e-5);
    }
  }
  // A longer limit gives longer segments; a limit below one clip keeps whole clips.
  // Each answer is kept in a local: a range-for over a member of a temporary would read freed memory.
  const auto longer = like(tmp, "-k 10 --max-segment 40", 0);
  for (const auto& hit : longer["results"]) CHECK(hit["end"].get<double>() - hit["start"].get<double>() <= 40.0 + 1e-6);
  const auto shorter = like(tmp, "-k 10 --max-segment 1", 0);
  for (const auto& hit : shorter["results"]) CHECK(hit["end"].get<double>() - hit["start"].get<double>() == Approx(4.0));
  const auto bad = xsearch_run("query --like x --max-segment -1 --db " + quote((tmp / "lib.db").string()));
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("--max-segment must be 0 or more"));
}

TEST_CASE("a segment grows around its best clip, taking the better neighbour first", "[index][cli]") {
  test::TempDir tmp;
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 3});
    lib.save_video(video(tmp / "source.mp4"), {{0, 4, {1, 0, 0}, {}}});
    // Clips 0..5 touch; the best is clip 3 (0.9), its neighbours 0.8 (clip 4) and 0.6 (clip 2), then 0.7
    // (clip 5): with room for three clips the segment is clips 3, 4 and 5 (12-24 s).
    const float s[] = {0.1f, 0.2f, 0.6f, 0.9f, 0.8f, 0.7f};
    std::vector<ClipData> clips;
    for (int i = 0; i < 6; ++i) clips.push_back({4.0 * i, 4.0 * i + 4, scoring(s[i]), {}});
    lib.save_video(video(tmp / "v.mp4"), clips);
    lib.rebuild_index();
  }
  const auto j = like(tmp, "-k 3", 0);
  REQUIRE(j["results"].size() == 3);
  const auto& best = j["results"][1];
  CHECK(best["start"] == 12.0);
  CHECK(best["end"] == 24.0);
  CHECK(best["peak"] == 12.0);
  CHECK(std::abs(best["score"].get<double>() - 0.9) < 1e-6);
  // The rest (clips 0, 1, 2) is the next segment, peaking at clip 2 (8 s).
  CHECK(j["results"][2]["start"] == 0.0);
  CHECK(j["results"][2]["end"] == 12.0);
  CHECK(j["results"][2]["peak"] == 8.0);
}

TEST_CASE("a segment joins only clips that touch: a gap between two good clips keeps them apart", "[index][cli]") {
  test::TempDir tmp;
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 3});
    lib.save_video(video(tmp / "source.mp4"), {{0, 4, {1, 0, 0}, {}}});
    // Nothing was indexed between 4 and 8 s (a stretch the decoder could not read): joined, the segment
    // would fit the default limit of three clip lengths (12 s) and play what no clip matched.
    lib.save_video(video(tmp / "v.mp4"), {{0, 4, scoring(0.9f), {}}, {8, 12, scoring(0.8f), {}}});
    lib.rebuild_index();
  }
  const auto j = like(tmp, "-k 3", 0);
  REQUIRE(j["results"].size() == 3);
  CHECK(j["results"][1]["start"] == 0.0);
  CHECK(j["results"][1]["end"] == 4.0);
  CHECK(j["results"][2]["start"] == 8.0);
  CHECK(j["results"][2]["end"] == 12.0);
}

TEST_CASE("query --group video gives one line per video with its best moments", "[index][cli]") {
  test::TempDir tmp;
  make_hour_library(tmp);
  const auto j = like(tmp, "--group video -k 5", 0);
  REQUIRE(j["results"].size() == 2);  // two videos, however many segments
  const auto& hour = j["results"][1];
  CHECK(fs::path(hour["path"].get<std::string>()).filename() == "hour.mp4");
  REQUIRE(hour["moments"].size() == 3);
  CHECK(hour["moments"][0]["peak"] == hour["peak"]);
  CHECK(hour["moments"][0]["score"] == hour["score"]);
  for (std::size_t i = 1; i < 3; ++i)
    CHECK(hour["moments"][i]["score"].get<double>() <= hour["moments"][i - 1]["score"].get<double>());
  const auto text = xsearch_run("query --like " + quote((tmp / "source.mp4").string()) + " --group video --db " + quote((tmp / "lib.db").string()));
  INFO(text.err);
  REQUIRE(text.status == 0);
  CHECK(std::count(text.out.begin(), text.out.end(), '\n') == 2);
  CHECK_THAT(text.out, Catch::Contains("hour.mp4"));
  const auto wrong = xsearch_run("query --like x --group file --db " + quote((tmp / "lib.db").string()));
  CHECK(wrong.status == 2);
  CHECK_THAT(wrong.err, Catch::Contains("--group takes segment or video"));
}

TEST_CASE("query --like takes PATH@TIME in seconds or [h:]m:s, and PATH alone for the video's start", "[index][cli]") {
  test::TempDir tmp;
  std::vector<int64_t> ids;
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 3});
    // Clips of 4 s up to 2 h; no two clips score the same against each other's vectors, so the one
    // asked for is found first by itself (score 1).
    std::vector<ClipData> clips;
    for (int i = 0; i < 1800; ++i) {
      const float a = i * 0.0017f;
      clips.push_back({4.0 * i, 4.0 * i + 4, {std::cos(a), std::sin(a), 0}, {}});
    }
    ids = lib.save_video(video(tmp / "me@home long.mp4"), clips).clip_ids;
    lib.rebuild_index();
  }
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  const std::string file = (tmp / "me@home long.mp4").string();
  auto first_peak = [&](const std::string& like_arg) {
    const auto r = xsearch_run("query --like " + quote(like_arg) + " -k 1 --json" + db);
    INFO(like_arg << ": " << r.err);
    REQUIRE(r.status == 0);
    return nlohmann::json::parse(r.out)["results"][0]["peak_clip_id"].get<int64_t>();
  };
  CHECK(first_peak(file + "@90") == ids[22]);           // [88, 92)
  CHECK(first_peak(file + "@1:30") == ids[22]);         // as xsearch prints it
  CHECK(first_peak(file + "@1:30.5") == ids[22]);
  CHECK(first_peak(file + "@1:02:03.5") == ids[930]);   // 3723.5 s: [3720, 3724)
  CHECK(first_peak(file) == ids[0]);                    // PATH alone: the start (a name with '@' in it)
  const auto bad = xsearch_run("query --like " + quote(file + "@1:75") + db);
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("\"1:75\" is not a time"));
  const auto missing = xsearch_run("query --like " + quote((tmp / "nothing.mp4").string() + "@3") + db);
  CHECK(missing.status == 2);
  CHECK_THAT(missing.err, Catch::Contains("nothing.mp4: not in the library"));
}

TEST_CASE("no results are said on stderr with the reason, and --path takes a plain word as a substring", "[index][cli]") {
  test::TempDir tmp;
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 3});
    lib.save_video(video(tmp / "source.mp4"), {{0, 4, {1, 0, 0}, {}}});
    lib.save_video(video(tmp.path() / "Holiday 2024" / "beach.mp4"), {{0, 4, scoring(0.5f), {}}});
    lib.rebuild_index();
  }
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  const std::string like_arg = "query --like " + quote((tmp / "source.mp4").string());
  // A word without wildcards matches anywhere in the path.
  auto j = like(tmp, "--path Holiday", 0);
  REQUIRE(j["results"].size() == 1);
  CHECK_THAT(j["results"][0]["path"].get<std::string>(), Catch::Contains("Holiday 2024/beach.mp4"));
  // A glob that matches nothing says how globs are matched, with a path of the library and what to try.
  auto r = xsearch_run(like_arg + " --path 'Holiday*'" + db);
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains("xsearch: no results: --path 'Holiday*' matches no video: a glob is matched against the whole absolute path") &&
                        Catch::Contains("try '*Holiday*'"));
  r = xsearch_run(like_arg + " --path Birthday" + db);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("no results: --path 'Birthday' is in no video's path"));
  r = xsearch_run(like_arg + " --min-score 1.5" + db);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("no results: no clip scores --min-score 1.5000 or more (the best scores 1.0000)"));
  // An empty library says so too (a text query needs no model there).
  Library::open(tmp / "empty.db", true);
  r = xsearch_run("query anything --db " + quote((tmp / "empty.db").string()));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("no results: the library holds no videos yet"));
  // export takes the same filters.
  const auto all = xsearch_run("export --path Holiday" + db);
  CHECK(all.status == 0);
  CHECK(std::count(all.out.begin(), all.out.end(), '\n') == 1);
  const auto none = xsearch_run("export --path 'nowhere*'" + db);
  CHECK(none.status == 1);
  CHECK_THAT(none.err, Catch::Contains("matches no video"));
  CHECK(xsearch_run("export --min-score 0.5" + db).status == 2);  // only with --query
}

TEST_CASE("text output: aligned columns with negative scores, shell-quoted paths, --paths-only", "[index][cli]") {
  test::TempDir tmp;
  const fs::path spaced = tmp.path() / "my videos" / "it's here.mp4";
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 3});
    lib.save_video(video(tmp / "source.mp4"), {{0, 4, {1, 0, 0}, {}}});
    lib.save_video(video(spaced), {{0, 4, scoring(-0.5f), {}}, {3600, 3604, scoring(0.25f), {}}});
    lib.rebuild_index();
  }
  fs::create_directories(spaced.parent_path());
  test::write_file(spaced, "");  // there (not offline): the line ends with its path
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  const auto r = xsearch_run("query --like " + quote((tmp / "source.mp4").string()) + db);
  INFO(r.err);
  REQUIRE(r.status == 0);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 3);
  // The path is the last column and starts at the same place on every line, negative score or not.
  const std::string quoted = "'" + (tmp.path() / "my videos").string() + "/it'\\''s here.mp4'";
  CHECK_THAT(lines[2], Catch::Contains("-0.5000") && Catch::EndsWith(quoted));
  CHECK_THAT(lines[1], Catch::Contains(" 0.2500") && Catch::Contains("1:00:00.0-1:00:04.0"));
  CHECK(lines[0].find((tmp / "source.mp4").string()) == lines[2].find(quoted));
  CHECK(lines[1].find(quoted) == lines[2].find(quoted));
  // The quoted path is what a shell reads back.
  std::string echoed;
  if (FILE* p = popen(("printf '%s' " + quoted).c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) echoed += buf;
    pclose(p);
  }
  CHECK(echoed == spaced.string());
  CHECK(test::read_file(spaced).empty());
  // --paths-only: each video once, in rank order.
  const auto paths = xsearch_run("query --like " + quote((tmp / "source.mp4").string()) + " --paths-only" + db);
  CHECK(paths.out == (tmp / "source.mp4").string() + "\n" + quoted + "\n");
}
