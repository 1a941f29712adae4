// What a drop (POST /api/example) may cost `xsearch serve`: a drop refused from its head alone that asks
// for "100 Continue" gets its refusal instead, so that the client never sends the body; a model helper
// that hangs is killed at serve's time limit (504, reaped, the upload removed); text queries keep
// answering while a drop is embedded, and a second drop meanwhile is refused (503, Retry-After).
// Loopback only; every wait is bounded.
#include <poll.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>

#include "raw_http.hpp"

using namespace xsearch;
using test::fs::path;
using test::kOctets;
using test::quote;
using test::Reply;
using test::Server;

namespace {

// Recognised as a PNG by its first bytes (serve/media_sniff.hpp); no model ever reads it here.
const std::string kPngBytes = std::string("\x89PNG\r\n\x1A\n", 8) + std::string(200, 'x');

std::string drop_head(int port, const std::string& target, const std::string& headers, std::size_t length, bool expect) {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + headers +
         "Content-Length: " + std::to_string(length) + "\r\n" + (expect ? "Expect: 100-continue\r\n" : "") + "Connection: close\r\n\r\n";
}

// What comes back on `fd` until `done(raw)` holds, the server closes, or `seconds` pass.
template <class Done>
std::string read_until(int fd, int seconds, Done done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::string raw;
  char buf[4096];
  while (!done(raw)) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (ms <= 0 || ::poll(&p, 1, static_cast<int>(ms)) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  return raw;
}

// A drop's head with `Expect: 100-continue` and no body: all that the server answers to it.
std::string expect_answer(int port, const std::string& target, const std::string& headers, std::size_t length) {
  const int fd = test::connect_loopback(port);
  test::send_bounded(fd, drop_head(port, target, headers, length, true), 5);
  const std::string raw = read_until(fd, 20, [](const std::string&) { return false; });
  ::close(fd);
  return raw;
}

int files_under(const path& dir) {
  int n = 0;
  std::error_code ec;
  for (test::fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file()) ++n;
  return n;
}

}  // namespace

TEST_CASE("serve answers a refused drop's Expect: 100-continue with the refusal, never with 100 Continue", "[serve]") {
  test::TempDir tmp;
  const path db = test::small_library(tmp, {"a.mp4"});
  Server server(db, tmp / "serve.out");
  const int port = server.port;

  struct Case {
    const char* what;
    std::string target, headers;
    std::size_t length;
    const char* status;
  };
  const Case cases[] = {
      {"another site's page", "/api/example?name=a.png", kOctets + "Origin: http://evil.example\r\n", 1000, "HTTP/1.1 403"},
      {"too large", "/api/example?name=a.mp4", kOctets, static_cast<std::size_t>(600) << 20, "HTTP/1.1 413"},
      {"not application/octet-stream", "/api/example?name=a.png", "Content-Type: image/png\r\n", 1000, "HTTP/1.1 415"},
      {"a parameter out of bounds", "/api/example?name=a.png&k=0", kOctets, 1000, "HTTP/1.1 400"},
      {"a body to another route", "/api/query?q=x", kOctets, 1000, "HTTP/1.1 413"},
  };
  for (const Case& c : cases) {
    const std::string raw = expect_answer(port, c.target, c.headers, c.length);
    INFO(c.what << ": " << raw);
    CHECK(raw.rfind(c.status, 0) == 0);
    CHECK(raw.find("100 Continue") == std::string::npos);
    CHECK(raw.find("Connection: close") != std::string::npos);
  }
  // A drop that passes the checks is told to continue, and its body is then read and judged.
  const int fd = test::connect_loopback(port);
  const std::string body = "not a picture at all";
  test::send_bounded(fd, drop_head(port, "/api/example?name=notes.txt", kOctets, body.size(), true), 5);
  const std::string head = read_until(fd, 20, [](const std::string& raw) { return raw.find("\r\n\r\n") != std::string::npos; });
  CHECK(head.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
  test::send_bounded(fd, body, 5);
  const Reply judged = test::read_reply_bounded(fd, 20);
  ::close(fd);
  CHECK(judged.status == 400);
  CHECK_THAT(judged.body, Catch::Contains("notes.txt: not an image or a video"));
}

TEST_CASE("serve stops a model helper that hangs at its time limit, and answers text queries meanwhile", "[serve]") {
  test::TempDir tmp;
  const path db = test::small_library(tmp, {"a.mp4", "b.mp4"});
  // A time limit that is not a whole number of seconds stops serve at its start, naming the variable.
  const int bad = test::shell_status("XSEARCH_SERVE_EXAMPLE_SECONDS=2m timeout 20 " + quote(XSEARCH_BINARY) + " serve --db " +
                                     quote(db.string()) + " --port 0 >/dev/null 2>" + quote((tmp / "bad.err").string()));
  CHECK(bad == 2);
  CHECK_THAT(test::read_file(tmp / "bad.err"), Catch::Contains("XSEARCH_SERVE_EXAMPLE_SECONDS: expected a whole number of seconds"));
  // xsearch-full's own serve runs the model in a helper too (itself, as a child), within the same limit.
  const int bad_full = test::shell_status("XSEARCH_SERVE_EXAMPLE_SECONDS=2m timeout 20 " + quote((path(XSEARCH_BINARY).parent_path() / "xsearch-full").string()) + " serve --db " +
                                          quote(db.string()) + " --port 0 >/dev/null 2>" + quote((tmp / "bad-full.err").string()));
  CHECK(bad_full == 2);
  CHECK_THAT(test::read_file(tmp / "bad-full.err"), Catch::Contains("XSEARCH_SERVE_EXAMPLE_SECONDS: expected a whole number of seconds"));

  // serve from a copy of xsearch-media, which runs the xsearch-full beside it (cli/full_exec.hpp): here a
  // fake one that writes its pid, hangs the first time (as a decoder stuck on a hostile file would; the
  // sleep, exec'd, keeps that pid), and fails at once after that. It also writes its arguments and the
  // library it was given in $XSEARCH_DB.
  const path bin = tmp / "bin", hang = tmp / "hang", pids = tmp / "helper.pids", seen = tmp / "helper.seen";
  test::fs::create_directories(bin);
  test::fs::copy_file(path(XSEARCH_BINARY).parent_path() / "xsearch-media", bin / "xsearch-media");
  test::write_file(bin / "xsearch-full", "#!/bin/sh\necho \"$* | $XSEARCH_DB\" >> " + quote(seen.string()) + "\necho $$ >> " +
                                             quote(pids.string()) + "\nif rm " + quote(hang.string()) +
                                             " 2>/dev/null; then exec sleep 60; fi\necho 'xsearch: fake helper: cannot read the example' >&2\nexit 2\n");
  test::fs::permissions(bin / "xsearch-full", test::fs::perms::owner_all);
  test::write_file(hang, "");
  const path temp_root = tmp / "temp";
  test::fs::create_directories(temp_root);
  // 10 s: long enough for a text query on a loaded machine to be answered well inside it.
  Server server(db, tmp / "serve.out", "export TMPDIR=" + quote(temp_root.string()) + " XSEARCH_SERVE_EXAMPLE_SECONDS=10; ", bin / "xsearch-media");
  const int port = server.port;
  // A first query reads the text model from disk; the one timed below then reflects the lock alone.
  REQUIRE(test::get_bounded(port, "/api/query?q=colour%20bars&k=1").status == 200);

  const auto sent = std::chrono::steady_clock::now();
  const int hung = test::connect_loopback(port);
  test::send_bounded(hung, drop_head(port, "/api/example?name=stuck.png", kOctets, kPngBytes.size(), false) + kPngBytes, 5);
  std::string pid_text;
  for (int i = 0; i < 300 && pid_text.empty(); ++i) {  // up to 30 s for the upload and the helper's start
    pid_text = test::read_file(pids);
    if (pid_text.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(!pid_text.empty());
  const pid_t helper = std::stoi(pid_text);
  // The library reaches the helper in its environment, never on its command line, which every local user
  // can read (a PostgreSQL library's URI may hold a password).
  const std::string helper_saw = test::read_file(seen);
  INFO(helper_saw);
  CHECK(helper_saw.find("query -k 1 --json") != std::string::npos);
  CHECK(helper_saw.find(" | " + db.string() + "\n") != std::string::npos);
  CHECK(helper_saw.find(db.string()) == helper_saw.find(" | " + db.string()) + 3);  // once: after the bar only

  {  // while the helper runs: a text query is answered, and another drop is refused, before its body if it can be
    const Reply q = test::get_bounded(port, "/api/query?q=colour%20bars&k=1", 20);
    CHECK(q.status == 200);
    CHECK(::kill(helper, 0) == 0);  // the query did not wait for the helper's end
    pollfd p{hung, POLLIN, 0};
    CHECK(::poll(&p, 1, 0) == 0);  // nor did the drop get its answer yet
    const std::string early = expect_answer(port, "/api/example?name=second.png", kOctets, kPngBytes.size());
    INFO(early);
    CHECK(early.rfind("HTTP/1.1 503", 0) == 0);
    CHECK(early.find("Retry-After: 5") != std::string::npos);
    CHECK(early.find("100 Continue") == std::string::npos);
    const int fd = test::connect_loopback(port);
    test::send_bounded(fd, drop_head(port, "/api/example?name=second.png", kOctets, kPngBytes.size(), false) + kPngBytes, 5);
    const Reply second = test::read_reply_bounded(fd, 20);
    ::close(fd);
    CHECK(second.status == 503);
    CHECK_THAT(second.body, Catch::Contains("another dropped file is being searched with"));
  }
  {  // at the limit: killed and reaped, answered 504, nothing of the drop left
    const Reply timed_out = test::read_reply_bounded(hung, 40);
    ::close(hung);
    CHECK(std::chrono::steady_clock::now() - sent >= std::chrono::seconds(10));
    CHECK(timed_out.status == 504);
    CHECK_THAT(timed_out.body, Catch::Contains("stuck.png: the model's helper took longer than 10 s") &&
                                   Catch::Contains("XSEARCH_SERVE_EXAMPLE_SECONDS"));
    errno = 0;
    CHECK(::kill(helper, 0) == -1);  // a zombie (killed, not reaped) would still take a signal
    CHECK(errno == ESRCH);
    CHECK(files_under(temp_root) == 0);
  }
  {  // serve goes on: queries, and the next drop reaches the helper again
    CHECK(test::get_bounded(port, "/api/query?q=colour%20bars&k=1").status == 200);
    const int fd = test::connect_loopback(port);
    test::send_bounded(fd, drop_head(port, "/api/example?name=next.png", kOctets, kPngBytes.size(), false) + kPngBytes, 5);
    const Reply next = test::read_reply_bounded(fd, 20);
    ::close(fd);
    CHECK(next.status == 400);
    CHECK_THAT(next.body, Catch::Contains("fake helper: cannot read the example"));
    CHECK(files_under(temp_root) == 0);
  }
}
