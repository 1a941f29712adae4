// The search page's start page and views through `xsearch serve`'s JSON API: the library summary, the
// newest videos, a random sample that a seed repeats, grouping by video, a text combined with a clip,
// and the reason of an empty answer (README: "Search page"). The page itself: tests/web/serve_page.test.js.
#include <set>

#include "serve_client.hpp"

using namespace xsearch;
using test::fs::path;
using test::http_get;
using test::quote;
using test::Server;

TEST_CASE("serve: start page summary, recent videos, seeded sample, grouping, combined like", "[serve]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  test::make_video(videos / "old.mp4", "testsrc2", 6);
  test::make_video(videos / "new.mp4", "smptebars", 6);
  // File times decide "recent": new.mp4 is the newer although it was written second only by chance.
  test::fs::last_write_time(videos / "old.mp4", test::fs::file_time_type::clock::now() - std::chrono::hours(2));
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote(videos.string()) + " --db " + quote(db.string()) + test::model_arg(), 0);
  Server server(db, tmp / "serve.out");
  const int port = server.port;
  auto get = [port](const std::string& target) {
    const test::Reply r = http_get(port, target);
    INFO(target << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return nlohmann::json::parse(r.body);
  };

  const auto info = get("/api/info");
  CHECK(info["videos"] == 2);
  const int64_t clips = info["clips"];
  REQUIRE(clips >= 2);
  // At least the database file itself, which is never empty once it holds clips.
  CHECK(info["size_bytes"].get<int64_t>() >= static_cast<int64_t>(test::fs::file_size(db)));
  CHECK(info["failed"] == 0);

  const auto recent = get("/api/recent?n=5")["results"];
  REQUIRE(recent.size() == 2);
  CHECK(recent[0]["path"] == (videos / "new.mp4").string());
  CHECK(recent[1]["path"] == (videos / "old.mp4").string());
  CHECK(recent[0]["play"]["start"] == 0.0);
  CHECK(recent[0].contains("thumbnail"));
  CHECK(!recent[0].contains("score"));
  CHECK(get("/api/recent?n=1")["results"].size() == 1);

  // The same seed draws the same clips; every clip at most once; never more than the library holds.
  const auto a = get("/api/sample?n=48&seed=7");
  const auto b = get("/api/sample?n=48&seed=7");
  CHECK(a["seed"] == 7);
  CHECK(a["results"] == b["results"]);
  std::set<int64_t> ids;
  for (const auto& c : a["results"]) ids.insert(c["clip_id"].get<int64_t>());
  CHECK(static_cast<int64_t>(ids.size()) == static_cast<int64_t>(a["results"].size()));
  CHECK(static_cast<int64_t>(ids.size()) <= clips);
  CHECK(get("/api/sample?n=1")["results"].size() == 1);
  for (const char* bad : {"/api/sample?n=0", "/api/sample?n=49", "/api/recent?n=x", "/api/sample?n=2&seed=1.5",
                          "/api/query?q=bars&group=folder"})
    CHECK(http_get(port, bad).status == 400);

  // group=video: one hit per video, each with its moments (the first is the hit itself).
  const auto grouped = get("/api/query?q=colour%20bars&k=5&group=video");
  CHECK(grouped["group"] == "video");
  REQUIRE(grouped["results"].size() == 2);
  CHECK(grouped["results"][0]["path"] != grouped["results"][1]["path"]);
  for (const auto& h : grouped["results"]) {
    REQUIRE(!h["moments"].empty());
    CHECK(h["moments"][0]["peak_clip_id"] == h["peak_clip_id"]);
    CHECK(h["moments"][0].contains("play"));
  }

  // A text with a clip: both are in the answer, and the clip's own video is found.
  const int64_t clip = recent[0]["clip_id"];
  const auto combined = get("/api/like?clip=" + std::to_string(clip) + "&q=colour%20bars&k=5");
  CHECK(combined["query"] == "colour bars");
  CHECK(combined["example"]["kind"] == "like");
  CHECK(combined["example"]["path"] == (videos / "new.mp4").string());
  REQUIRE(!combined["results"].empty());
  CHECK(combined["no_results"] == "");

  // Nothing found: the reason is in the answer, for the page's hint.
  const auto none = get("/api/query?q=bars&path=nomatch");
  CHECK(none["results"].empty());
  CHECK_THAT(none["no_results"].get<std::string>(), Catch::Contains("nomatch"));
}
