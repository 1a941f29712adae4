#include "pipeline/ingest/stuck_reads.hpp"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"

namespace xsearch::pipeline {

namespace stuck_reads {

namespace {
std::atomic<int> stuck{0};  // process-wide: a thread left behind outlives the run that left it
}

int limit() {
  const char* env = std::getenv("XSEARCH_MAX_STUCK_READS");
  if (!env) return 16;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(env, &end, 10);
  if (end == env || *end != '\0' || errno == ERANGE || v < 1 || v > 4096)
    throw Error(std::string("XSEARCH_MAX_STUCK_READS must be a whole number from 1 to 4096 (got \"") + env + "\")");
  return static_cast<int>(v);
}

void left_behind() { ++stuck; }
void came_back() { --stuck; }
int count() { return stuck.load(); }

namespace {
// For the watchdog's thread, which must not throw: the value was checked when the run began (a bad one
// stopped it then), so a bad one now can only be a change since, and the default stands in.
int limit_or_default() noexcept {
  try {
    return limit();
  } catch (...) {
    return 16;
  }
}
}  // namespace

bool full() { return count() >= limit_or_default(); }

std::string full_message() {
  return std::to_string(count()) + " reads are stuck (files that do not answer, such as on a dead network share or mount); the run "
         "stops rather than leave more threads behind (XSEARCH_MAX_STUCK_READS=" + std::to_string(limit_or_default()) +
         "): the videos committed stay, the rest are done by a later run once the files answer";
}

}  // namespace stuck_reads

namespace {

// Shared by the reading thread and the waiter: the thread may outlive the waiter.
struct ReadState {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false, abandoned = false, failed = false;
  std::string fingerprint, error;
};

}  // namespace

WatchedFingerprint watched_fingerprint(const std::string& path, std::chrono::seconds limit, const std::function<bool()>& stop) {
  auto state = std::make_shared<ReadState>();
  std::thread reader([state, path] {
    std::string fp, error;
    bool failed = false;
    try {
      fp = file_fingerprint(path);
    } catch (const std::exception& e) {
      failed = true;  // a flag, not an empty message: an exception may say nothing
      error = *e.what() ? e.what() : "cannot read its fingerprint";
    }
    std::lock_guard<std::mutex> lock(state->mutex);
    state->fingerprint = std::move(fp);
    state->failed = failed;
    state->error = std::move(error);
    state->done = true;
    if (state->abandoned) stuck_reads::came_back();
    state->done_cv.notify_all();
  });
  WatchedFingerprint out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::unique_lock<std::mutex> lock(state->mutex);
  for (;;) {
    // A tenth of a second between looks at `stop`: a stop is honoured well within the 2 s a Ctrl-C may take.
    if (state->done_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return state->done; })) break;
    const bool stopped = stop && stop();
    if (stopped || std::chrono::steady_clock::now() >= deadline) {
      state->abandoned = true;
      stuck_reads::left_behind();
      lock.unlock();
      reader.detach();
      out.outcome = stopped ? WatchedFingerprint::Outcome::Stopped : WatchedFingerprint::Outcome::Stalled;
      return out;
    }
  }
  lock.unlock();
  reader.join();
  if (state->failed) {
    out.outcome = WatchedFingerprint::Outcome::Failed;
    out.error = state->error;
  } else {
    out.fingerprint = state->fingerprint;
  }
  return out;
}

}  // namespace xsearch::pipeline
