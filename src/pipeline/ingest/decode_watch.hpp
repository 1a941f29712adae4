// The decode watchdog's guard over one decoder thread. A decode can hang inside FFmpeg for good: a read
// from a stalled network share or FUSE file system that never returns, a decoder caught in a loop. Its
// video would stay unfinished, and on a shared library its claim renewed by the heartbeat, for ever. The
// decoders' watchdog (decoders.hpp) therefore gives a video up once its decoder has shown no progress for
// $XSEARCH_DECODE_STALL_SECONDS (default 300): the video is reported as failed ("no progress for N s"),
// its claim given back, and another decoder thread takes the stuck one's place.
//
// FFmpeg's interrupt callback (AVIOInterruptCB) ends a read loop, but not a read(2) that never returns: the
// stuck thread cannot be stopped, only left behind, and it may wake at any later time, long after the run
// has ended and its queue, jobs and library are gone. So every step by which a decoder reaches beyond its
// own stack (a message into the queue, asking whether the consumer has gone, adding to the run's figures)
// runs through unless_given_up() or finish(), under this guard's mutex: once give_up_if_stalled() has
// given the video up (under the same mutex), none of them runs again, and the thread, told by given_up(),
// returns without touching anything else. The guard is shared (shared_ptr) by the thread and the watchdog.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>

namespace xsearch::pipeline {

class DecodeWatch {
 public:
  using clock = std::chrono::steady_clock;

  // The decoder side.
  // A video begins (job, and its number in the handing-out order): watched from now on.
  void begin(std::size_t job, std::size_t seq);
  // A sign of progress: FFmpeg asks to read again (its interrupt callback), a frame came out.
  void progress() { last_.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed); }
  // Runs f() unless the video was given up; false when it was (f did not run). While f runs (a push may
  // wait for room in the queue: the model's pace, not the decoder's) the watchdog cannot give up; the
  // wait counts as progress.
  template <typename F>
  bool unless_given_up(F&& f) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (given_up_) return false;
    f();
    progress();
    return true;
  }
  // The same for the video's last step (its end sent, the figures added): the video is no longer watched.
  template <typename F>
  bool finish(F&& f) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (given_up_) return false;
    f();
    active_ = false;
    return true;
  }
  bool given_up() const { return given_up_flag_.load(); }

  // The watchdog side: gives the video up when one is being decoded, no progress came for `limit`, and the
  // decoder is not in unless_given_up() or finish() (then it runs this project's code, not FFmpeg's); the
  // video's job and number when it did. Never waits for the decoder.
  struct Stalled {
    std::size_t job, seq;
  };
  std::optional<Stalled> give_up_if_stalled(clock::time_point now, clock::duration limit);

 private:
  std::mutex mutex_;
  std::atomic<clock::rep> last_{0};
  bool active_ = false, given_up_ = false;
  std::atomic<bool> given_up_flag_{false};  // given_up_, readable without the mutex
  std::size_t job_ = 0, seq_ = 0;
};

// The watchdog's limit: $XSEARCH_DECODE_STALL_SECONDS (at least 1), else 300.
int decode_stall_seconds();

}  // namespace xsearch::pipeline
