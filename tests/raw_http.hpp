// Raw loopback HTTP for the tests of serve's limits: requests exactly as written (a body never sent, idle
// or slow connections), and replies read with a bound, so that a server that does not answer fails the
// test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "serve_client.hpp"

namespace xsearch::test {

// The header line of a dropped file sent as raw bytes (serve's /api/example reads the type from the bytes).
inline const std::string kOctets = "Content-Type: application/octet-stream\r\n";

inline int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// Sends what it can within `seconds` (a server that stopped reading is not waited for); the bytes sent.
inline std::size_t send_bounded(int fd, const std::string& bytes, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
    pollfd p{fd, POLLOUT, 0};
    if (ms <= 0 || ::poll(&p, 1, ms) <= 0) break;
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

// The reply on `fd`, read until the server closes or `seconds` pass; status 0 when no status line came.
inline Reply read_reply_bounded(int fd, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::string raw;
  char buf[65536];
  for (;;) {
    const int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
    pollfd p{fd, POLLIN, 0};
    if (ms <= 0 || ::poll(&p, 1, ms) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
    // One reply is enough: stop at its end when it says how long it is.
    const auto split = raw.find("\r\n\r\n");
    const auto cl = raw.find("Content-Length: ");
    if (split != std::string::npos && cl != std::string::npos && cl < split &&
        raw.size() >= split + 4 + std::stoul(raw.substr(cl + 16)))
      break;
  }
  Reply r;
  const auto split = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || split == std::string::npos || raw.size() < 12) return r;
  r.headers = raw.substr(0, split);
  r.body = raw.substr(split + 4);
  r.status = std::stoi(raw.substr(9, 3));
  return r;
}

// GET `target` on a new connection, answered within `seconds` (else status 0).
inline Reply get_bounded(int port, const std::string& target, int seconds = 20) {
  const int fd = connect_loopback(port);
  send_bounded(fd, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n\r\n", seconds);
  Reply r = read_reply_bounded(fd, seconds);
  ::close(fd);
  return r;
}

// A small library of `names` (4 s test videos) under tmp/videos, ingested with the tiny model.
inline fs::path small_library(const TempDir& tmp, const std::vector<std::string>& names) {
  const char* sources[] = {"testsrc2", "smptebars", "mandelbrot", "rgbtestsrc"};
  for (std::size_t i = 0; i < names.size(); ++i) make_video(tmp / "videos" / names[i], sources[i % 4], 4);
  const fs::path db = tmp / "lib.db";
  run_json("ingest " + quote((tmp / "videos").string()) + " --db " + quote(db.string()) + model_arg(), 0);
  return db;
}

}  // namespace xsearch::test
