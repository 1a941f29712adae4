// Test helpers for `xsearch serve`: the server as a child process on a free loopback port, and one HTTP
// request through a raw socket so that a test controls every header.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <regex>

#include "library_helpers.hpp"

namespace xsearch::test {

struct Reply {
  int status = 0;
  std::string headers, body;
};

// One HTTP/1.1 request with `Connection: close`; the reply is read to the end.
inline Reply http_get(int port, const std::string& target, const std::string& extra_headers = "", const std::string& host = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + (host.empty() ? "127.0.0.1:" + std::to_string(port) : host) +
                          "\r\n" + extra_headers + "Connection: close\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  std::string raw;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  Reply r;
  const auto split = raw.find("\r\n\r\n");
  REQUIRE(split != std::string::npos);
  r.headers = raw.substr(0, split);
  r.body = raw.substr(split + 4);
  r.status = std::stoi(raw.substr(9, 3));
  return r;
}

// The server as a child process; SIGTERM at scope exit.
struct Server {
  pid_t pid = -1;
  int port = 0;
  // `shell_prefix`: shell commands run first (e.g. "export TMPDIR=...; "); `binary`: the xsearch that serves.
  Server(const fs::path& db, const fs::path& out, const std::string& shell_prefix = "", const fs::path& binary = XSEARCH_BINARY) {
    pid = spawn_shell(shell_prefix + "exec " + quote(binary.string()) + " serve --db " + quote(db.string()) + " --port 0 >" + quote(out.string()));
    const std::regex url(R"(http://127\.0\.0\.1:(\d+)/)");
    for (int i = 0; i < 600 && port == 0; ++i) {  // up to 60 s: xsearch-full starts slowly on a loaded machine
      std::smatch m;
      const std::string text = read_file(out);
      if (std::regex_search(text, m, url)) port = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (port == 0) {
      // No destructor runs after a throwing constructor: stop the server here, or it would outlive the
      // test (and hold CTest's output pipe until the test's timeout).
      stop();
      FAIL("serve printed no http://127.0.0.1:PORT/ URL: " << read_file(out));
    }
  }
  ~Server() { stop(); }
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    int raw = 0;
    ::waitpid(pid, &raw, 0);
    pid = -1;
  }
};

}  // namespace xsearch::test
