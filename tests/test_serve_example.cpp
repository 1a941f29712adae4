// The search page's drop zone through `xsearch serve`'s JSON API (POST /api/example): a dropped still
// (PNG, JPEG) or video finds what it shows, with a text and a weight too; a file too large (413), not
// media (400), of the wrong type (415) or from another site's page (403) is refused before anything reads
// it; nothing of a drop stays in the private folder, and a killed serve's leftovers go at the next start.
// The page itself: tests/web/serve_page.test.js.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raw_http.hpp"

using namespace xsearch;
using test::fs::path;
using test::kOctets;
using test::quote;
using test::Server;

namespace {

// One request with a body through a raw socket (every header under the test's control); the reply is read
// to the end (the server closes after a drop).
test::Reply http_post(int port, const std::string& target, const std::string& body, const std::string& headers,
                      const std::string& content_length = "") {
  const int fd = test::connect_loopback(port);
  const std::string head = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + headers +
                           "Content-Length: " + (content_length.empty() ? std::to_string(body.size()) : content_length) +
                           "\r\nConnection: close\r\n\r\n";
  const std::string req = head + body;
  // A refused body may be cut off by the server's close: what was sent does not matter then.
  for (std::size_t sent = 0; sent < req.size();) {
    const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  test::Reply r;
  const auto split = raw.find("\r\n\r\n");
  REQUIRE(split != std::string::npos);
  r.headers = raw.substr(0, split);
  r.body = raw.substr(split + 4);
  r.status = std::stoi(raw.substr(9, 3));
  return r;
}


// Regular files anywhere under `dir`.
int files_under(const path& dir) {
  int n = 0;
  std::error_code ec;
  for (test::fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file()) ++n;
  return n;
}

// A pid that no longer runs: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

std::string host_name() {
  char raw[256] = {};
  ::gethostname(raw, sizeof raw - 1);
  std::string s;
  for (const char* c = raw; *c && s.size() < 32; ++c) s += (std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '_') ? *c : '_';
  return s.empty() ? "host" : s;
}

}  // namespace

TEST_CASE("serve: a dropped still or video finds what it shows, and bad drops are refused unread", "[serve]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  test::make_video(videos / "pattern.mp4", "testsrc2", 8);
  test::make_video(videos / "fractal.mp4", "mandelbrot", 8);
  test::make_video(videos / "bars.mp4", "smptebars", 8);
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote(videos.string()) + " --db " + quote(db.string()) + test::model_arg(), 0);
  const path png = tmp / "still.png", jpeg = tmp / "still.jpg", clip = tmp / "elsewhere" / "my clip.mp4";
  test::ffmpeg("-ss 5 -i " + quote((videos / "bars.mp4").string()) + " -frames:v 1 " + quote(png.string()));
  test::ffmpeg("-ss 5 -i " + quote((videos / "bars.mp4").string()) + " -frames:v 1 -q:v 3 " + quote(jpeg.string()));
  test::fs::create_directories(clip.parent_path());
  test::fs::copy_file(videos / "fractal.mp4", clip);

  // The private folder, with what a killed serve of this host left, and another host's (which stays).
  const path temp_root = tmp / "temp";
  const path uploads = temp_root / ("xsearch-serve-" + std::to_string(::getuid()));
  const path killed = uploads / (host_name() + "." + std::to_string(dead_pid()));
  const path other_host = uploads / "another-host.12345";
  test::fs::create_directories(killed);
  test::fs::create_directories(other_host);
  ::chmod(temp_root.c_str(), 0700);
  ::chmod(uploads.c_str(), 0700);
  test::write_file(killed / "1.upload", "half a video");
  test::write_file(other_host / "1.upload", "not ours to judge");

  Server server(db, tmp / "serve.out", "export TMPDIR=" + quote(temp_root.string()) + "; ");
  const int port = server.port;
  CHECK(!test::fs::exists(killed));
  CHECK(test::fs::exists(other_host / "1.upload"));
  test::fs::remove_all(other_host);

  auto drop = [port](const path& file, const std::string& params, int expected) {
    const test::Reply r = http_post(port, "/api/example?" + params, test::read_file(file), kOctets);
    INFO(file << " " << params << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == expected);
    CHECK(r.headers.find("Connection: close") != std::string::npos);
    return nlohmann::json::parse(r.body);
  };

  {  // a PNG and a JPEG still of the bars find the bars; a text and a weight combine with it
    const auto j = drop(png, "name=still.png&k=3", 200);
    REQUIRE(!j["results"].empty());
    CHECK(j["results"][0]["path"] == (videos / "bars.mp4").string());
    CHECK(j["results"][0].contains("play"));
    CHECK(j["query"] == "still.png");
    CHECK(j["example"]["kind"] == "image");
    CHECK(j["example"]["path"] == "still.png");
    CHECK(j["example"]["uploaded"] == true);
    CHECK(j["example"]["start"].is_null());  // a still has no time, as in `query --json`
    CHECK(j["example"]["weight"] == 1.0);
    const auto combined = drop(jpeg, "name=still.jpg&q=a%20fractal&weight=0.3&k=3", 200);
    CHECK(combined["query"] == "a fractal");
    CHECK(combined["example"]["path"] == "still.jpg");
    CHECK(combined["example"]["weight"] == 0.3);
    const auto jpeg_alone = drop(jpeg, "name=still.jpg&k=3", 200);
    REQUIRE(!jpeg_alone["results"].empty());
    CHECK(jpeg_alone["results"][0]["path"] == (videos / "bars.mp4").string());
    // The text moved the scores: the same still alone scores otherwise.
    CHECK(combined["results"][0]["score"] != jpeg_alone["results"][0]["score"]);
  }
  {  // a video not in the library finds the original's clip at the time asked
    const auto j = drop(clip, "name=my%20clip.mp4&t=5&k=3", 200);
    REQUIRE(!j["results"].empty());
    CHECK(j["results"][0]["path"] == (videos / "fractal.mp4").string());
    CHECK(j["results"][0]["peak"] == 4.0);  // 4 s clips: 5 s is in the second, the segment's best
    CHECK(j["example"]["kind"] == "video");
    CHECK(j["example"]["path"] == "my clip.mp4");
    CHECK(j["example"]["start"] == 4.0);
    drop(clip, "name=x.mp4&t=-1", 400);
  }
  {  // too large, not media, a broken image, the wrong type: refused with a message
    // 600 MiB announced, none sent: refused from the head alone.
    const test::Reply big = http_post(port, "/api/example?name=big.mp4", "", kOctets, std::to_string(600LL * 1024 * 1024));
    CHECK(big.status == 413);
    CHECK(big.body.find("512 MiB") != std::string::npos);
    const path text = tmp / "notes.txt";
    test::write_file(text, "shopping list: eggs, milk\n");
    const auto not_media = drop(text, "name=notes.txt", 400);
    CHECK(not_media["error"].get<std::string>().find("notes.txt: not an image or a video") != std::string::npos);
    // A PNG signature and nothing of a picture: the model's helper cannot read it, and says so by the
    // file's name (never the private file's).
    const path broken = tmp / "broken.png";
    test::write_file(broken, std::string("\x89PNG\r\n\x1A\n", 8) + std::string(200, 'x'));
    const auto bad = drop(broken, "name=broken.png", 400);
    CHECK(bad["error"].get<std::string>().find("broken.png") != std::string::npos);
    CHECK(bad["error"].get<std::string>().find(temp_root.string()) == std::string::npos);
    const test::Reply typed = http_post(port, "/api/example?name=still.png", test::read_file(png), "Content-Type: image/png\r\n");
    CHECK(typed.status == 415);
    const test::Reply empty = http_post(port, "/api/example", "", kOctets);
    CHECK(empty.status == 400);
  }
  {  // a POST from another site's page is refused (CSRF), and the Host check applies
    const std::string body = test::read_file(png);
    CHECK(http_post(port, "/api/example?name=a.png", body, kOctets + "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: cors\r\n").status == 403);
    CHECK(http_post(port, "/api/example?name=a.png", body, kOctets + "Origin: http://evil.example\r\n").status == 403);
    // The page's own origin is served.
    const std::string own = "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\nSec-Fetch-Site: same-origin\r\n";
    CHECK(http_post(port, "/api/example?name=a.png&k=1", body, kOctets + own).status == 200);
    // Other routes still take no POST and no body.
    CHECK(http_post(port, "/api/query?q=x", "", kOctets).status == 405);
    CHECK(http_post(port, "/api/query?q=x", "abc", kOctets).status == 413);
    CHECK(test::http_get(port, "/api/info", "", "evil.example:" + std::to_string(port)).status == 403);
  }
  // Whatever happened, nothing of the drops is left: the upload, the vector and the helper's output.
  CHECK(files_under(uploads) == 0);
  const pid_t serve_pid = server.pid;
  server.stop();
  CHECK(!test::fs::exists(uploads / (host_name() + "." + std::to_string(serve_pid))));
  // A folder that is not private (here: opened to everyone, as another user's would be) is never used:
  // searches still work, drops are refused with the reason.
  ::chmod(uploads.c_str(), 0755);
  Server open_folder(db, tmp / "serve2.out", "export TMPDIR=" + quote(temp_root.string()) + "; ");
  CHECK(test::http_get(open_folder.port, "/api/info").status == 200);
  const test::Reply refused = http_post(open_folder.port, "/api/example?name=still.png", test::read_file(png), kOctets);
  CHECK(refused.status == 503);
  CHECK(refused.body.find("other users may use it") != std::string::npos);
  CHECK(files_under(uploads) == 0);
}
