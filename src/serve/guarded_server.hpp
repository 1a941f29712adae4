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
  ConnectionLimits limits_;
};

}  // namespace xsearch::serve
