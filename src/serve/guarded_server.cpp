// The connection loop of `xsearch serve` (serve/guarded_server.hpp): cpp-httplib parses and answers each
// request; this file decides how long a connection may sit idle, how long and how large a request head
// may be, how slowly a client may take a reply, and closes the connection gracefully.
#include "serve/guarded_server.hpp"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

namespace xsearch::serve {

namespace {

using Clock = std::chrono::steady_clock;

// Set by close_after_reply() on the worker thread that is serving the request; read by that thread's
// connection loop once the reply is written.
thread_local bool close_requested = false;

// poll() for one event on one socket; >0 ready, 0 timed out, <0 error. EINTR is retried.
int wait_for(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, std::max(0, ms));
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

// Rounded up: a wait for a deadline must not end a fraction of a millisecond before it.
int millis(Clock::duration d) { return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(d).count()); }

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (r != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

// A socket read through a buffer (httplib reads a request head one byte at a time). While a request head
// is being read, reads stop at its deadline and at its size and line limits: the stream then answers 408
// or 431 itself, and from then on reads fail and httplib's own answer is discarded. Writes of a reply
// fail once the client takes it slower than the limits allow (ConnectionLimits::min_send_rate), which
// ends the connection.
class LimitedStream : public httplib::Stream {
 public:
  LimitedStream(int fd, const ConnectionLimits& limits, time_t read_seconds, time_t write_seconds)
      : fd_(fd), limits_(limits), read_ms_(static_cast<int>(read_seconds * 1000)), write_ms_(static_cast<int>(write_seconds * 1000)) {}

  // A request starts (its first byte is readable): its head must be complete within the limits.
  void begin_head() {
    in_head_ = true;
    head_bytes_ = 0;
    head_lines_ = 0;
    line_bytes_ = 0;
    head_ended_ = false;
    sending_ = false;
    head_deadline_ = Clock::now() + std::chrono::seconds(limits_.head_seconds);
  }
  // httplib has parsed the head (its setup_request callback): the body, if any, is read without them.
  void end_head() { in_head_ = false; }
  bool refused() const { return refused_; }
  bool has_buffered() const { return off_ < len_; }

  bool is_readable() const override { return has_buffered() || wait_for(fd_, POLLIN, read_ms_) > 0; }
  bool is_writable() const override {
    if (refused_) return true;  // writes are discarded
    if (!wait_writable()) return false;
    // As httplib: a peer that has closed reads as end of file.
    if (wait_for(fd_, POLLIN, 0) <= 0) return true;
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0 || has_buffered();
  }

  ssize_t read(char* ptr, size_t size) override {
    if (refused_) return -1;
    if (!has_buffered()) {
      int ms = read_ms_;
      if (in_head_) ms = std::min(ms, millis(head_deadline_ - Clock::now()));
      if (wait_for(fd_, POLLIN, ms) <= 0) {
        if (in_head_)
          refuse(408, "Request Timeout",
                 Clock::now() >= head_deadline_ ? "the request head did not arrive within " + std::to_string(limits_.head_seconds) + " s"
                                                : "the request head stalled for " + std::to_string(read_ms_ / 1000) + " s");
        return -1;
      }
      const ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
      if (n <= 0) return n;
      off_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, len_ - off_);
    if (in_head_) {
      // The request line and the header lines, up to the blank line that ends the head (what follows it in
      // the same read is the body), each counted as soon as its end is read and before httplib sees it:
      // cpp-httplib 0.18 refuses a 101st header line itself, with a bare 400.
      for (std::size_t i = off_; i < off_ + n && !head_ended_; ++i) {
        if (buf_[i] == '\n') {
          if (line_bytes_ > 0) ++head_lines_;
          else if (head_lines_ > 0) head_ended_ = true;  // (an empty line before the request line is skipped)
          line_bytes_ = 0;
        } else if (buf_[i] != '\r') {
          ++line_bytes_;
        }
      }
      if (head_lines_ > limits_.head_lines + 1) {
        refuse(431, "Request Header Fields Too Large", "the request has more than " + std::to_string(limits_.head_lines) + " header lines");
        return -1;
      }
      head_bytes_ += n;
      if (head_bytes_ > limits_.head_bytes) {
        refuse(431, "Request Header Fields Too Large",
               "the request line and headers are larger than " + std::to_string(limits_.head_bytes) + " bytes");
        return -1;
      }
    }
    std::memcpy(ptr, buf_ + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (refused_) return static_cast<ssize_t>(size);
    if (!wait_writable()) return -1;
    const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    if (n > 0) sent_ += static_cast<std::size_t>(n);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(fd_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(fd_, false, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  // Answers the request here, as JSON like every other error of the server, and ends the connection.
  void refuse(int status, const char* reason, const std::string& message) {
    const std::string body = "{\"error\":\"" + message + "\"}";
    const std::string reply = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                              "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\nConnection: close\r\n\r\n" + body;
    if (wait_for(fd_, POLLOUT, write_ms_) > 0) (void)::send(fd_, reply.data(), reply.size(), MSG_NOSIGNAL);
    refused_ = true;
  }

  // Waits until the socket takes more of the reply: false when nothing could be written for write_ms_, or
  // when the client is behind its minimum rate. The clock of a reply starts at its first write, so that
  // the time a handler takes (a rendition being encoded) is not held against the client.
  bool wait_writable() const {
    if (!sending_) {
      sending_ = true;
      send_start_ = Clock::now();
      sent_ = 0;
    }
    const auto stalled = Clock::now() + std::chrono::milliseconds(write_ms_);
    for (;;) {
      const auto now = Clock::now();
      const auto deadline = send_deadline();
      if (now >= deadline || now >= stalled) return false;
      const int r = wait_for(fd_, POLLOUT, millis(std::min(deadline, stalled) - now));
      if (r != 0) return r > 0;
      // Timed out: at the stall limit, or at a deadline that what the client took meanwhile may have moved.
    }
  }
  // The time by which the client must have taken more: the grace, plus a second per min_send_rate bytes
  // that left our socket (written, less what the kernel still queues for the client).
  Clock::time_point send_deadline() const {
    int queued = 0;
    if (::ioctl(fd_, SIOCOUTQ, &queued) != 0 || queued < 0) queued = 0;
    const std::size_t taken = sent_ - std::min(sent_, static_cast<std::size_t>(queued));
    const auto credit = std::chrono::duration<double>(static_cast<double>(taken) / static_cast<double>(std::max<std::size_t>(1, limits_.min_send_rate)));
    return send_start_ + std::chrono::seconds(limits_.send_grace_seconds) + std::chrono::duration_cast<Clock::duration>(credit);
  }

  int fd_;
  ConnectionLimits limits_;
  int read_ms_, write_ms_;
  char buf_[4096];
  std::size_t off_ = 0, len_ = 0;
  bool in_head_ = false, refused_ = false;
  std::size_t head_bytes_ = 0, head_lines_ = 0, line_bytes_ = 0;
  bool head_ended_ = false;  // the blank line that ends the head was read
  Clock::time_point head_deadline_;
  // The reply being written (is_writable() is const in httplib's interface, hence mutable).
  mutable bool sending_ = false;
  mutable Clock::time_point send_start_;
  mutable std::size_t sent_ = 0;
};

}  // namespace

ConnectionLimits ConnectionLimits::from_environment() {
  ConnectionLimits limits;
  if (const char* v = std::getenv("XSEARCH_SERVE_SEND_GRACE_SECONDS"); v && *v)
    limits.send_grace_seconds = static_cast<time_t>(std::clamp(std::atol(v), 1L, 3600L));
  return limits;
}

GuardedServer::GuardedServer(const ConnectionLimits& limits) : limits_(limits) {
  const std::size_t threads = limits_.threads;
  new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // A browser keeps one connection for many requests (thumbnails): allow that, idle time is bounded anyway.
  set_keep_alive_max_count(100);
  set_keep_alive_timeout(limits_.idle_seconds);
}

void GuardedServer::close_after_reply(httplib::Response& res) {
  res.set_header("Connection", "close");
  close_requested = true;
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  LimitedStream strm(sock, limits_, read_timeout_sec_, write_timeout_sec_);
  bool ret = false;
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    // Idle: wait for the next request's first byte in short slices, so that stop() is not kept waiting.
    bool ready = strm.has_buffered();
    for (auto until = Clock::now() + std::chrono::seconds(limits_.idle_seconds); !ready && svr_sock_ != INVALID_SOCKET;) {
      const int ms = std::min(100, millis(until - Clock::now()));
      if (ms <= 0) break;
      const int r = wait_for(sock, POLLIN, ms);
      if (r < 0) break;
      ready = r > 0;
    }
    if (!ready || svr_sock_ == INVALID_SOCKET) break;
    strm.begin_head();
    close_requested = false;
    bool connection_closed = false;
    ret = process_one(*this, strm, left == 1, connection_closed, [&strm](httplib::Request&) { strm.end_head(); }, 0);
    if (!ret || connection_closed || strm.refused() || close_requested) break;
  }
  close_requested = false;
  // A graceful close: our side first, then what the client still sends (a refused body) is read and
  // dropped for a moment. Closing with unread bytes would send a reset, which can destroy the reply
  // before the client has read it.
  ::shutdown(sock, SHUT_WR);
  char sink[16384];
  std::size_t drained = 0;
  for (auto until = Clock::now() + std::chrono::seconds(1); drained < (1u << 20);) {
    const int ms = millis(until - Clock::now());
    if (ms <= 0 || wait_for(sock, POLLIN, ms) <= 0) break;
    const ssize_t n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0) break;
    drained += static_cast<std::size_t>(n);
  }
  ::close(sock);
  return ret;
}

}  // namespace xsearch::serve
