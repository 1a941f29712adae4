// cpp-httplib's Server with a bound on what one connection may cost (README: "Search page"): an idle
// connection is closed after a few seconds, a request head must arrive whole within a deadline, a
// size and a number of lines, a reply must be taken by the client at a minimum rate, and the worker pool is large enough that a handful of slow or idle clients cannot hold every
// worker. cpp-httplib 0.11 has none of the first four (Debian ships it compiled, so its macros cannot
// be changed either): this class reads each connection itself and hands httplib a stream that enforces
// them.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <ctime>
#include <functional>
#include <string>

namespace xsearch::serve {

struct ConnectionLimits {
  time_t idle_seconds = 5;        // a connection with no request starting within this is closed
  time_t head_seconds = 10;       // the request line and headers, from their first byte: else 408
  std::size_t head_bytes = 64 * 1024;  // request line and headers together: else 431
  // Header lines: else 431. Browsers send about 20; 100 is Apache's LimitRequestFields default and what
  // later cpp-httplib versions allow. Each line costs httplib a map node, so the size limit alone let
  // 64 KB of one-letter headers become thousands of them.
  std::size_t head_lines = 100;
  // A reply is dropped when the client takes it slower than this: from its first byte written, the
  // client has send_grace_seconds plus one second per min_send_rate bytes it has received (bytes still
  // in our socket's queue do not count). A client that reads a video at a few bytes per second would
  // otherwise hold a worker for days. 16 KiB/s is far below what a browser fetching a video reads (it
  // buffers ahead much faster than it plays), and what it buffered is credit while it pauses.
  time_t send_grace_seconds = 10;
  std::size_t min_send_rate = 16 * 1024;  // bytes per second

  // The defaults, with XSEARCH_SERVE_SEND_GRACE_SECONDS (1 to 3600) when set: the tests shorten it.
  static ConnectionLimits from_environment();
  std::size_t threads = 64;       // workers; each connection holds one while it is open
};

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(const ConnectionLimits& limits = {});
  // From a handler (the thread that serves the request): the connection ends after this reply, which
  // says `Connection: close`. Used when a request's body is refused unread.
  static void close_after_reply(httplib::Response& res);

 private:
  bool process_and_close_socket(socket_t sock) override;

  // Reads and answers one request. cpp-httplib 0.11 (Debian 12) takes the stream and the keep-alive
  // state; later versions (0.18 in Debian 13) also take the connection's two addresses. The overload the
  // installed httplib has is the one that compiles (the int argument prefers the newer one).
  template <class Self>
  static auto process_one(Self& self, httplib::Stream& strm, bool close, bool& closed,
                          const std::function<void(httplib::Request&)>& setup, int)
      -> decltype(self.process_request(strm, std::string(), 0, std::string(), 0, close, closed, setup)) {
    std::string remote_addr, local_addr;
    int remote_port = 0, local_port = 0;
    strm.get_remote_ip_and_port(remote_addr, remote_port);
    strm.get_local_ip_and_port(local_addr, local_port);
    return self.process_request(strm, remote_addr, remote_port, local_addr, local_port, close, closed, setup);
  }
  template <class Self>
  static auto process_one(Self& self, httplib::Stream& strm, bool close, bool& closed,
                          const std::function<void(httplib::Request&)>& setup, long)
      -> decltype(self.process_request(strm, close, closed, setup)) {
    return self.process_request(strm, close, closed, setup);
  }

  ConnectionLimits limits_;
};

}  // namespace xsearch::serve
