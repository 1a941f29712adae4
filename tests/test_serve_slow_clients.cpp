// Clients that take a reply too slowly (issue 25, "slow-reading client"): a client that asks for a video
// and then reads it slowly or not at all must not hold a worker for as long as the file lasts.
// Loopback only; every wait is bounded.
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "raw_http.hpp"

using namespace xsearch;
using test::fs::path;
using test::quote;
using test::Reply;
using test::Server;

namespace {

// An environment variable for the serve child started in this scope (children inherit it).
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) { ::setenv(name.c_str(), value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("serve drops clients that take a reply too slowly and keeps answering others", "[serve]") {
  // A 1 s grace instead of 10 s keeps the test short; the minimum rate stays the default (16 KiB/s).
  ScopedEnv grace("XSEARCH_SERVE_SEND_GRACE_SECONDS", "1");
  test::TempDir tmp;
  // About 15 MB (lossless noise): far more than the socket buffers on both sides take.
  const path video = tmp / "videos" / "big.mp4";
  test::fs::create_directories(video.parent_path());
  test::ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=15 -t 2 -vf noise=alls=100:allf=t -c:v libx264 -preset ultrafast -qp 0 -pix_fmt yuv420p " +
               quote(video.string()));
  const auto size = test::fs::file_size(video);
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote((tmp / "videos").string()) + " --db " + quote(db.string()) + test::model_arg(), 0);
  Server server(db, tmp / "serve.out");
  const int port = server.port;

  // More slow clients than serve has workers (64), each with a small receive buffer, none reading a
  // byte of the 15 MB it asked for.
  constexpr int kSlow = 70;
  std::vector<int> slow;
  for (int i = 0; i < kSlow; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    test::send_bounded(fd, "GET /api/videos/1 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nRange: bytes=0-\r\n\r\n", 5);
    slow.push_back(fd);
  }
  const auto sent = std::chrono::steady_clock::now();

  // A plain request meanwhile is answered (within 10 s: the grace, a little for the slow replies to
  // start, and a lot of room for a loaded machine).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the slow replies have started
  const Reply info = test::get_bounded(port, "/api/info", 10);
  CHECK(info.status == 200);

  // 3.5 s after the requests: each slow reply was dropped about 1 s after it started (the grace, plus a
  // second per 16 KiB the client took: a few KB). The old server waited for its 5 s write timeout,
  // which starts again whenever the client takes anything; so here its replies were still going.
  // Read now at full speed, each reply ends before the whole file has come: the server had given up.
  std::this_thread::sleep_until(sent + std::chrono::milliseconds(3500));
  // A reply is cut when fewer body bytes came than its Content-Length announced. (An open range gets a
  // bounded part of the file, about 2 MB, so the file's size is not the measure: the reply's own is.)
  std::vector<std::size_t> got(kSlow, 0), announced(kSlow, 0);
  std::size_t cut = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::vector<char> buf(1 << 16);
  for (int i = 0; i < kSlow; ++i) {
    std::string head;  // the bytes up to the end of the reply's head
    std::size_t body = 0;
    for (bool open = true; open;) {
      const int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
      pollfd p{slow[i], POLLIN, 0};
      if (ms <= 0 || ::poll(&p, 1, ms) <= 0) break;
      const ssize_t n = ::recv(slow[i], buf.data(), buf.size(), 0);
      if (n <= 0) {
        open = false;
      } else if (head.find("\r\n\r\n") == std::string::npos) {
        head.append(buf.data(), static_cast<std::size_t>(n));
        const auto end = head.find("\r\n\r\n");
        if (end != std::string::npos) {
          body = head.size() - (end + 4);
          head.resize(end + 4);
        }
      } else {
        body += static_cast<std::size_t>(n);
      }
    }
    got[i] = body;
    const auto at = head.find("Content-Length: ");
    if (at != std::string::npos) announced[i] = std::strtoull(head.c_str() + at + 16, nullptr, 10);
    if (announced[i] > 0 && got[i] < announced[i]) ++cut;
    ::close(slow[i]);
  }
  INFO("file " << size << " bytes; the first slow client got " << got[0] << " of " << announced[0] << " announced, the last "
               << got[kSlow - 1] << " of " << announced[kSlow - 1]);
  CHECK(cut == static_cast<std::size_t>(kSlow));
}

TEST_CASE("serve cuts a dropped file that trickles in too slowly with 408, keeps answering, and keeps nothing of it", "[serve]") {
  // The same terms as a slow reader's: a 1 s grace here (10 s by default), then 16 KiB/s on average.
  ScopedEnv grace("XSEARCH_SERVE_SEND_GRACE_SECONDS", "1");
  test::TempDir tmp;
  const path db = test::small_library(tmp, {"bars.mp4"});
  const path temp_root = tmp / "temp";
  test::fs::create_directories(temp_root);
  ::chmod(temp_root.c_str(), 0700);
  Server server(db, tmp / "serve.out", "export TMPDIR=" + quote(temp_root.string()) + "; ");
  const int port = server.port;

  const int fd = test::connect_loopback(port);
  test::send_bounded(fd,
                     "POST /api/example?name=slow.mp4 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                         "\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n",
                     5);
  // 100 bytes every 0.2 s (500 B/s), each well inside the socket's read timeout, which alone would wait
  // for the whole megabyte (33 minutes). The cut comes about 1 s in; 10 s leaves a loaded machine room.
  const auto started = std::chrono::steady_clock::now();
  std::string reply;
  bool answered_meanwhile = false;
  // The reply may come in more than one segment (head, then body): once any of it has arrived, stop
  // sending and read until the server closes the connection (it answers 408 with Connection: close).
  while (std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (!reply.empty()) continue;
    if (::send(fd, std::string(100, '\0').data(), 100, MSG_NOSIGNAL) < 0) break;
    if (!answered_meanwhile) answered_meanwhile = test::get_bounded(port, "/api/info", 10).status == 200;
  }
  ::close(fd);
  CHECK(answered_meanwhile);
  CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 408"));
  CHECK_THAT(reply, Catch::Contains("too slowly"));
  std::size_t files = 0;  // the partial upload is gone (the process's own folder may stay until its exit)
  for (const auto& e : test::fs::recursive_directory_iterator(temp_root))
    if (e.is_regular_file()) ++files;
  CHECK(files == 0);
}
