// Threads left behind stuck in a read, counted for the whole process and capped. A read from a dead network
// share or FUSE mount may never return, and such a thread cannot be stopped, only left behind (decode_watch.hpp
// says why that is safe). Each one left behind holds a thread and its stack for good, so a folder of a
// thousand dead files would otherwise make a thousand threads: once $XSEARCH_MAX_STUCK_READS (default 16)
// are stuck, the run takes no new work that could get stuck and stops with an error that says so.
// A stuck thread that wakes after all is counted off (came_back()).
//
// watched_fingerprint(): planning's fingerprint read (xsearch/fingerprint.hpp) under the same rule as the
// decoders' watchdog: on its own thread, given up after $XSEARCH_DECODE_STALL_SECONDS, or at once on a stop.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace xsearch::pipeline {

namespace stuck_reads {
// The cap: $XSEARCH_MAX_STUCK_READS (a whole number from 1 to 4096), else 16. Throws on a bad value.
int limit();
void left_behind();
void came_back();
int count();
// count() >= limit(): no more work that could get stuck.
bool full();
// The error that ends the run once full(), naming the cap and the variable.
std::string full_message();
}  // namespace stuck_reads

struct WatchedFingerprint {
  enum class Outcome { Read, Failed, Stalled, Stopped } outcome = Outcome::Read;
  std::string fingerprint;  // Read
  std::string error;        // Failed: the read's error ("path: cause")
};
// The fingerprint of `path`, read on its own thread; gives the read up (Stalled, the thread left behind)
// when it has not returned within `limit`, and at once (Stopped) when `stop` says so (asked every 0.1 s).
WatchedFingerprint watched_fingerprint(const std::string& path, std::chrono::seconds limit, const std::function<bool()>& stop);

}  // namespace xsearch::pipeline
