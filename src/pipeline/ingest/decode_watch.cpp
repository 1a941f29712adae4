#include "pipeline/ingest/decode_watch.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "xsearch/error.hpp"

namespace xsearch::pipeline {

void DecodeWatch::begin(std::size_t job, std::size_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  job_ = job;
  seq_ = seq;
  active_ = true;
  progress();
}

std::optional<DecodeWatch::Stalled> DecodeWatch::give_up_if_stalled(clock::time_point now, clock::duration limit) {
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || !active_ || given_up_) return std::nullopt;
  const clock::time_point last{clock::duration(last_.load(std::memory_order_relaxed))};
  if (now - last < limit) return std::nullopt;
  given_up_ = true;
  given_up_flag_ = true;
  active_ = false;
  return Stalled{job_, seq_};
}

int decode_stall_seconds() {
  // Minutes by default: a read that has not returned for that long is not a slow disk. A test sets ~2 s.
  const char* env = std::getenv("XSEARCH_DECODE_STALL_SECONDS");
  if (!env) return 300;
  // A value that is not a whole number of seconds is an error, not 0 (which the clamp would make 1 s and
  // give up nearly every slow read).
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(env, &end, 10);
  if (end == env || *end != '\0' || errno == ERANGE || v < 1 || v > 86400)
    throw Error(std::string("XSEARCH_DECODE_STALL_SECONDS must be a whole number of seconds from 1 to 86400 (got \"") + env + "\")");
  return static_cast<int>(v);
}

}  // namespace xsearch::pipeline
