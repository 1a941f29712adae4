// cpp-httplib's Server with a bound on what one connection may cost (README: "Search page"): an idle
// connection is closed after a few seconds, a request head must arrive whole within a deadline and a
// size, and the worker pool is large enough that a handful of slow or idle clients cannot hold every
// worker. cpp-httplib 0.11 has none of the first three (Debian ships it compiled, so its macros cannot
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
