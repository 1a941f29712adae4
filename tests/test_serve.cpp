// `xsearch serve` end to end: the server runs as a child process on a free loopback port over a small
// library made with the tiny model; requests go through a raw socket so the test controls every header.
#include "serve_client.hpp"
#include "xsearch/media_cache.hpp"

using namespace xsearch;
using test::fs::path;
using test::quote;
using test::http_get;
using test::Reply;
using test::Server;

namespace {

// Width and height from a baseline or progressive JPEG's SOF marker; {0, 0} when it is not a JPEG.
std::pair<int, int> jpeg_size(const std::string& j) {
  if (j.size() < 4 || static_cast<uint8_t>(j[0]) != 0xFF || static_cast<uint8_t>(j[1]) != 0xD8) return {0, 0};
  std::size_t i = 2;
  while (i + 9 < j.size()) {
    if (static_cast<uint8_t>(j[i]) != 0xFF) return {0, 0};
    const uint8_t marker = static_cast<uint8_t>(j[i + 1]);
    const std::size_t len = static_cast<uint8_t>(j[i + 2]) * 256u + static_cast<uint8_t>(j[i + 3]);
    if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2)
      return {static_cast<uint8_t>(j[i + 7]) * 256 + static_cast<uint8_t>(j[i + 8]), static_cast<uint8_t>(j[i + 5]) * 256 + static_cast<uint8_t>(j[i + 6])};
    i += 2 + len;
  }
  return {0, 0};
}

}  // namespace

TEST_CASE("serve: ranges, refusals, thumbnails, a read-only library", "[serve]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  test::make_video(videos / "a.mp4", "testsrc2", 8);
  // 160x120 stored with 2:1 pixels: shown 320x120, so its thumbnail must be 320x120, not 4:3.
  test::ffmpeg("-f lavfi -i testsrc=size=160x120:rate=15 -t 6 -vf setsar=2/1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p " +
               quote((videos / "wide.mkv").string()));
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote(videos.string()) + " --db " + quote(db.string()) + test::model_arg(), 0);
  const std::string db_before = test::read_file(db);
  const auto mtime_before = test::fs::last_write_time(db);

  Server server(db, tmp / "serve.out");
  const int port = server.port;

  const auto q = nlohmann::json::parse(http_get(port, "/api/query?q=colour%20bars&k=5").body);
  REQUIRE(q["results"].size() >= 2);
  int64_t wide_clip = -1, wide_video = -1, a_video = -1;
  for (const auto& r : q["results"]) {
    CHECK(r["thumbnail"] == "/api/thumbnails/" + std::to_string(r["clip_id"].get<int64_t>()));
    if (r["path"] == (videos / "wide.mkv").string()) wide_clip = r["clip_id"], wide_video = r["video_id"];
    if (r["path"] == (videos / "a.mp4").string()) a_video = r["video_id"];
  }
  REQUIRE(wide_clip > 0);
  REQUIRE(a_video > 0);

  SECTION("range requests answer 206 with exactly those bytes") {
    const std::string file = test::read_file(videos / "a.mp4");
    const Reply r = http_get(port, "/api/videos/" + std::to_string(a_video), "Range: bytes=1000-1999\r\n");
    CHECK(r.status == 206);
    CHECK(r.body == file.substr(1000, 1000));
    CHECK_THAT(r.headers, Catch::Contains("Content-Type: video/mp4"));
    CHECK_THAT(r.headers, Catch::Contains("bytes 1000-1999/" + std::to_string(file.size())));
    const Reply whole = http_get(port, "/api/videos/" + std::to_string(a_video));
    CHECK(whole.status == 200);
    CHECK(whole.body == file);
  }
  SECTION("dot-dot paths, unknown ids and foreign Host headers are refused") {
    CHECK(http_get(port, "/api/videos/../../../etc/passwd").status == 403);
    CHECK(http_get(port, "/api/thumbnails/%2e%2e/1").status == 403);
    CHECK(http_get(port, "/api/videos/999999").status == 404);
    CHECK(http_get(port, "/api/thumbnails/999999").status == 404);
    CHECK(http_get(port, "/api/like?clip=999999").status == 404);
    CHECK(http_get(port, "/api/info", "", "evil.example:" + std::to_string(port)).status == 403);
    CHECK(http_get(port, "/api/info", "", "127.0.0.1:1").status == 403);
    CHECK(http_get(port, "/api/info", "", "localhost:" + std::to_string(port)).status == 200);
    // An address literal cannot be rebound (a server on 0.0.0.0 is reached by its LAN address); a name can.
    CHECK(http_get(port, "/api/info", "", "192.168.7.7:" + std::to_string(port)).status == 200);
    CHECK(http_get(port, "/api/info", "", "192.168.7.7.evil.example:" + std::to_string(port)).status == 403);
    CHECK(http_get(port, "/api/info", "", "192.168.7.7:" + std::to_string(port + 1)).status == 403);
    // Another site's page: its fetches, images and videos are refused; a link to the page itself is not.
    CHECK(http_get(port, "/api/info", "Sec-Fetch-Site: cross-site\r\n").status == 403);
    CHECK(http_get(port, "/api/videos/" + std::to_string(a_video), "Sec-Fetch-Site: same-site\r\nSec-Fetch-Mode: no-cors\r\n").status == 403);
    CHECK(http_get(port, "/", "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: navigate\r\n").status == 200);
    CHECK(http_get(port, "/api/info", "Sec-Fetch-Site: same-origin\r\n").status == 200);
    const Reply info = http_get(port, "/api/info");
    CHECK_THAT(info.headers, Catch::Contains("X-Frame-Options: DENY"));
    CHECK_THAT(info.headers, Catch::Contains("Cross-Origin-Resource-Policy: same-origin"));
  }
  SECTION("a query may hold dots; bounds on k and on path globs are 400s") {
    CHECK(http_get(port, "/api/query?q=wait...&k=3").status == 200);
    CHECK(http_get(port, "/api/query?q=bars&k=5000").status == 400);
    const Reply glob = http_get(port, "/api/query?q=bars&path=*a*a*a*a*a*a*a*a*b");
    CHECK(glob.status == 400);
    CHECK_THAT(glob.body, Catch::Contains("4 '*'"));
    CHECK(http_get(port, "/api/query?q=bars&path=*a*b*c*").status == 200);
  }
  SECTION("thumbnails are JPEGs at display aspect, cached beside the library") {
    const Reply t = http_get(port, "/api/thumbnails/" + std::to_string(wide_clip));
    REQUIRE(t.status == 200);
    CHECK_THAT(t.headers, Catch::Contains("image/jpeg"));
    CHECK(jpeg_size(t.body) == std::make_pair(320, 120));
    CHECK(test::read_file(thumbnail_path(db, wide_video, wide_clip)) == t.body);
    CHECK(http_get(port, "/api/thumbnails/" + std::to_string(wide_clip)).body == t.body);
  }
  SECTION("more like this, info and the page") {
    const auto like = nlohmann::json::parse(http_get(port, "/api/like?clip=" + std::to_string(wide_clip) + "&k=3").body);
    REQUIRE(!like["results"].empty());
    const auto& ids = like["results"][0]["clip_ids"];  // the clip itself first (merged with equals, if any)
    CHECK(std::find(ids.begin(), ids.end(), wide_clip) != ids.end());
    const auto info = nlohmann::json::parse(http_get(port, "/api/info").body);
    CHECK(info["videos"] == 2);
    const Reply page = http_get(port, "/");
    CHECK(page.status == 200);
    CHECK_THAT(page.body, Catch::Contains("/app.js"));
    // The drop zone is a script of its own, loaded by the page and served as the others are.
    CHECK_THAT(page.body, Catch::Contains("<script src=\"/drop.js\">"));
    const Reply drop_js = http_get(port, "/drop.js");
    CHECK(drop_js.status == 200);
    CHECK_THAT(drop_js.headers, Catch::Contains("Content-Type: text/javascript"));
    CHECK_THAT(drop_js.headers, Catch::Contains("Content-Security-Policy: default-src 'self'"));
    CHECK_THAT(drop_js.body, Catch::Contains("function searchWithFile"));
  }
  // Nothing written to the library: the same bytes, the same time.
  CHECK(test::read_file(db) == db_before);
  CHECK(test::fs::last_write_time(db) == mtime_before);
}

TEST_CASE("serve --open starts the opener found on PATH, never one in the current folder", "[serve]") {
  test::TempDir tmp;
  test::make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote((tmp / "videos").string()) + " --db " + quote(db.string()) + test::model_arg(), 0);
  // Two fake openers that record what ran them: one in the folder serve starts in (reached only through
  // the empty PATH entry), one in a PATH folder.
  auto fake = [&](const path& file, const std::string& mark) {
    test::fs::create_directories(file.parent_path());
    test::write_file(file, "#!/bin/sh\necho " + mark + " \"$1\" >> " + quote((tmp / "opened").string()) + "\n");
    test::fs::permissions(file, test::fs::perms::owner_all);
  };
  fake(tmp / "xdg-open", "cwd");
  fake(tmp / "bin" / "xdg-open", "path");
  const pid_t pid = test::spawn_shell("cd " + quote(tmp.path().string()) + " && PATH=:" + quote((tmp / "bin").string()) +
                                      ":/usr/bin:/bin exec " + quote(XSEARCH_BINARY) + " serve --db " + quote(db.string()) +
                                      " --port 0 --open >/dev/null 2>" + quote((tmp / "serve.err").string()));
  for (int i = 0; i < 600 && !test::fs::exists(tmp / "opened"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the opener's line is complete
  ::kill(pid, SIGTERM);
  test::wait_child(pid);
  INFO(test::read_file(tmp / "serve.err"));
  const std::string opened = test::read_file(tmp / "opened");
  CHECK_THAT(opened, Catch::StartsWith("path http://127.0.0.1:"));
  CHECK(opened.find("cwd") == std::string::npos);
  CHECK_THAT(test::read_file(tmp / "serve.err"), Catch::Contains("with " + (tmp / "bin" / "xdg-open").string()));
}
