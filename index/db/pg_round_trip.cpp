#include "pg_round_trip.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace xsearch::db {

AnswerWait wait_for_answer(PGconn* conn, std::chrono::steady_clock::time_point deadline, const std::function<bool()>& stop, StopSeen& seen) {
  using namespace std::chrono;
  bool stopped = false;
  bool in_all = false;  // the connection's total after the stop is the nearer bound
  steady_clock::time_point since{};  // when this wait saw the stop
  auto count = [&](AnswerWait w) {
    if (stopped) seen.waited += steady_clock::now() - since;
    return w;
  };
  for (;;) {
    // Send what is still queued (a nonblocking connection: a statement larger than the socket's buffers
    // leaves as the server reads it, and a server that stops reading holds it here, under the deadline).
    // A failed write leaves its error for PQgetResult.
    const int unsent = PQflush(conn);
    if (unsent < 0) return count(AnswerWait::Ready);
    // Read what arrived first, also without poll() saying so: with TLS, bytes already decrypted wait
    // in OpenSSL's buffer, invisible to poll(). (A failed read leaves its error for PQgetResult.)
    if (!PQconsumeInput(conn) || (unsent == 0 && !PQisBusy(conn))) return count(AnswerWait::Ready);
    const auto now = steady_clock::now();
    if (!stopped && stop && stop()) {
      stopped = true;
      since = now;
      deadline = std::min(deadline, now + kStopGrace);
      const auto left = std::max<steady_clock::duration>(kStopTotal - seen.waited, steady_clock::duration::zero());
      if (now + left < deadline) {
        deadline = now + left;
        in_all = true;
      }
    }
    if (now >= deadline) return count(!stopped ? AnswerWait::TimedOut : in_all ? AnswerWait::StoppedInAll : AnswerWait::Stopped);
    // Short waits, so that a stop request is seen within 0.1 s.
    const auto wait = std::clamp(duration_cast<milliseconds>(deadline - now), milliseconds(1), milliseconds(100));
    pollfd p{PQsocket(conn), static_cast<short>(unsent > 0 ? POLLIN | POLLOUT : POLLIN), 0};
    const int n = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (n < 0 && errno != EINTR) return AnswerWait::Ready;  // (cannot happen with one valid descriptor)
  }
}

void shut_down(PGconn* conn) noexcept {
  const int fd = PQsocket(conn);
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace xsearch::db
