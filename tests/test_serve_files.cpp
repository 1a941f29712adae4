// serve and query over a library whose files were replaced after ingest (issue 25, rows 1 and 9): a FIFO
// at a video's path never blocks a request (404, named), and a symlink put in a video's place is not
// followed to another file, while a video that was a symlink when it was indexed still plays.
#include <sys/stat.h>

#include "raw_http.hpp"
#include "xsearch/media_cache.hpp"

using namespace xsearch;
using test::fs::path;
using test::quote;
using test::Reply;
using test::Server;

namespace {

// The ids of the video at `file` and of one of its clips, from a query that returns every video.
std::pair<int64_t, int64_t> ids_of(int port, const path& file) {
  const Reply q = test::get_bounded(port, "/api/query?q=colour%20bars&k=50");
  REQUIRE(q.status == 200);
  const auto answer = nlohmann::json::parse(q.body);  // kept: a range-for over a temporary's member reads freed memory
  for (const auto& r : answer["results"])
    if (r["path"] == file.string()) return {r["video_id"].get<int64_t>(), r["clip_id"].get<int64_t>()};
  FAIL("no hit for " << file << " in " << q.body);
  return {0, 0};
}

}  // namespace

TEST_CASE("a FIFO at a library video's path: serve answers every request promptly, 404 for that video", "[serve]") {
  test::TempDir tmp;
  const path db = test::small_library(tmp, {"a.mp4", "b.mp4"});
  const path a = tmp / "videos" / "a.mp4";
  Server server(db, tmp / "serve.out");
  const int port = server.port;
  const auto [video, clip] = ids_of(port, a);
  test::fs::remove(a);
  REQUIRE(::mkfifo(a.c_str(), 0644) == 0);
  // Ingest made the thumbnails; without the cached one, a thumbnail must be decoded from the FIFO.
  REQUIRE(test::fs::remove(thumbnail_path(db, video, clip)));
  // Every request is bounded (20 s each, a hundred times what an answer takes): the old server blocked
  // in open() on the FIFO, one worker per request, until none was left.
  for (int i = 0; i < 10; ++i) {
    INFO("request " << i);
    const Reply v = test::get_bounded(port, "/api/videos/" + std::to_string(video));
    CHECK(v.status == 404);
    CHECK_THAT(v.body, Catch::Contains("a.mp4: a FIFO where the library has a video"));
  }
  const Reply q = test::get_bounded(port, "/api/query?q=colour%20bars&k=50");
  CHECK(q.status == 200);
  const Reply t = test::get_bounded(port, "/api/thumbnails/" + std::to_string(clip));
  CHECK(t.status == 404);
  CHECK_THAT(t.body, Catch::Contains("FIFO"));
  CHECK(test::get_bounded(port, "/api/info").status == 200);
  // The command line's thumbnails go through the same check; `timeout` bounds the old behaviour (124).
  const int raw = std::system(("timeout 120 " + quote(XSEARCH_BINARY) + " thumbnails " + std::to_string(clip) + " --db " + quote(db.string()) +
                               " >/dev/null 2>" + quote((tmp / "thumbs.err").string()))
                                  .c_str());
  INFO(test::read_file(tmp / "thumbs.err"));
  CHECK(WEXITSTATUS(raw) == 2);
  CHECK_THAT(test::read_file(tmp / "thumbs.err"), Catch::Contains("a.mp4: a FIFO where the library has a video"));
}

TEST_CASE("a symlink put at a video's path is not followed to another file", "[serve]") {
  test::TempDir tmp;
  // c.mp4 is a symlink when it is indexed (to a file outside the folder): it stays playable.
  test::make_video(tmp / "elsewhere" / "c-target.mp4", "rgbtestsrc", 4);
  test::fs::create_directories(tmp / "videos");
  test::fs::create_symlink(tmp / "elsewhere" / "c-target.mp4", tmp / "videos" / "c.mp4");
  const path db = test::small_library(tmp, {"a.mp4", "b.mp4"});
  const path a = tmp / "videos" / "a.mp4";
  const path b = tmp / "videos" / "b.mp4";
  Server server(db, tmp / "serve.out");
  const int port = server.port;
  const auto [a_video, a_clip] = ids_of(port, a);
  const auto [c_video, c_clip] = ids_of(port, tmp / "videos" / "c.mp4");
  (void)a_clip;
  (void)c_clip;
  const Reply c = test::get_bounded(port, "/api/videos/" + std::to_string(c_video));
  CHECK(c.status == 200);
  CHECK(c.body == test::read_file(tmp / "elsewhere" / "c-target.mp4"));

  // a.mp4 replaced by a link to another file (b.mp4 here; /etc/shadow for an attacker): refused.
  test::fs::remove(a);
  test::fs::create_symlink(b, a);
  const Reply r = test::get_bounded(port, "/api/videos/" + std::to_string(a_video));
  CHECK(r.status == 404);
  CHECK_THAT(r.body, Catch::Contains("a symlink to another file than the one indexed"));
  CHECK(r.body.find(test::read_file(b).substr(0, 64)) == std::string::npos);
}
