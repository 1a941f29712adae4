// A bounded wait for a PostgreSQL server's answer (libpq's asynchronous API: poll() on PQsocket,
// PQconsumeInput, PQisBusy). TCP keepalives and tcp_user_timeout catch a peer that vanished, not a server
// that is alive at the TCP level and never answers (a backend stopped with SIGSTOP, a lock wait, a hung
// server); a server-side statement_timeout does not help either when the server process is stopped.
// postgres.hpp's limit_round_trips uses it for the shared ingest's claims connection.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <functional>

namespace xsearch::db {

// After a stop request, how long a round trip may still take: a server that answers does so in
// milliseconds (the claims given back at a stop), and Ctrl-C must end an ingest within 2 s. So that a
// server slow on every statement cannot stretch a stop either (each answer just under kStopGrace), the
// waits of one connection after the stop add up to kStopTotal at most (time spent elsewhere meanwhile,
// joining the decoders say, does not count).
constexpr std::chrono::milliseconds kStopGrace(500);
constexpr std::chrono::milliseconds kStopTotal(1500);

// How long a connection's round trips have waited since the stop request (kept by the connection).
struct StopSeen {
  std::chrono::steady_clock::duration waited{};
};

enum class AnswerWait {
  Ready,     // PQgetResult returns without blocking now (the answer, or libpq's error for a broken connection)
  TimedOut,  // no answer by the deadline
  Stopped,   // no answer within kStopGrace of `stop` saying yes
  StoppedInAll,  // no answer before the connection's waits since the stop added up to kStopTotal
};

// Sends what libpq still holds of the statement (`conn` is nonblocking: postgres.cpp's limit_round_trips),
// then waits until libpq holds the whole answer to what was sent on `conn` (or the connection broke), until
// `deadline`, or until kStopGrace after `stop` (looked at every 0.1 s) first said yes in this wait, and
// never past the rest of kStopTotal (`seen` counts the waits after the stop, this one added).
AnswerWait wait_for_answer(PGconn* conn, std::chrono::steady_clock::time_point deadline, const std::function<bool()>& stop, StopSeen& seen);

// Ends every read and write of the connection now, without closing its descriptor (libpq still owns it):
// libpq then fails at once, and PQfinish closes it later. For a connection whose server did not answer:
// its state is unknown, so it is never used again.
void shut_down(PGconn* conn) noexcept;

}  // namespace xsearch::db
