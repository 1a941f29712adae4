#include "pipeline/ingest/decoders.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "pipeline/ingest/stuck_reads.hpp"
#include "xsearch/error.hpp"

namespace xsearch::pipeline {

namespace {

// Asks for a job's claim. A failure to ask (the server unreachable for a moment) puts the job off like a
// claim held elsewhere; a server gone for good stops the run through the heartbeat (ingest.cpp).
JobClaim ask(const ClaimJob& claim, const Job& job, std::string& error) {
  try {
    error.clear();
    return claim(job);
  } catch (const std::exception& e) {
    error = e.what();
    return JobClaim::Taken;
  }
}

// Failed asks for one job before it is given up (about 10 s of retries): a refusal that lasts is about
// that file (the server will not take its row), not a passing failure.
constexpr int kMaxClaimErrors = 20;

// After a stop, how long a decoder may take to come back before it is taken for stuck in a read and left
// behind: a decoder that is not stuck notices the stop at its next read or frame, within milliseconds, and
// Ctrl-C must end the run within 2 s.
constexpr std::chrono::milliseconds kStopGrace(1000);

}  // namespace

DecoderSplit choose_decoders(int requested, unsigned cores) {
  DecoderSplit split;
  const int c = std::max(1, static_cast<int>(cores));
  // Why several decoders at all: FFmpeg's own threads decode one video's frames in parallel, but opening,
  // seeking, selective decoding's flushes, the PIL-exact resize, the normalisation and the thumbnail JPEG
  // of each picked frame run on the decoder's thread alone. Whole videos in parallel keep every core busy.
  // Auto: half the cores, at least 2 (where there are 2) and at most 8. The model's threads are not
  // subtracted: the model and the decoders take turns more than they compete (when the model is the
  // bottleneck the decoders wait on a full queue, and when decoding is, the model waits on an empty one).
  split.decoders = requested > 0 ? requested : std::clamp(c / 2, std::min(2, c), 8);
  // FFmpeg threads per decoder: about 2 x cores / decoders + 1, i.e. the cores oversubscribed about 2.5
  // times, as FFmpeg's own choice for one decoder (cores + 1) does on 2 cores. Measured on this project's
  // 2-core VM, shared with other builds (scripts/bench-ingest.sh, 8 videos of 1080p H.264, tiny model,
  // interleaved runs): 2 decoders of 3 threads took 26.1 and 26.9 s against 30.0 and 32.7 s for one decoder
  // of FFmpeg's choice, while 2 decoders of 1 thread each were slower than one (27.4 to 32.4 s against
  // 20.1 to 25.4 s): while a decoder's own thread resizes and encodes thumbnails, its FFmpeg threads keep
  // decoding ahead (and on a machine others keep busy, more threads get more of it). The CPU time was the
  // same in all three (about 14 to 17 s). One decoder keeps FFmpeg's choice, as before there were several.
  split.ffmpeg_threads = split.decoders == 1 ? 0 : std::clamp(2 * c / split.decoders + 1, 2, 16);
  return split;
}

Decoders::Decoders(const std::vector<Job>& jobs, const DecodeSettings& settings, BlockingQueue<DecodeMessage>& queue, ClaimJob claim,
                   int workers)
    : jobs_(jobs),
      settings_(settings),
      queue_(queue),
      claim_(std::move(claim)),
      stall_limit_(decode_stall_seconds()),
      backlog_cap_(backlog_cap()),
      claim_errors_(jobs.size(), 0) {
  (void)stuck_reads::limit();  // a bad XSEARCH_MAX_STUCK_READS is said before anything starts
  const int n = std::max(1, workers);
  lookahead_ = kLookahead * static_cast<std::size_t>(n);
  std::unique_lock<std::mutex> lock(mutex_);  // the workers wait for it: they start once all are counted
  try {
    for (int w = 0; w < n; ++w) {
      start_worker(true);
      ++in_first_pass_;
      ++alive_;
    }
    watchdog_ = std::thread([this] { watch_stalls(); });
  } catch (...) {
    // A thread that cannot be started: the destructor will not run, so end the ones that did here (a
    // joinable std::thread destroyed would terminate the process).
    queue_.close();
    lock.unlock();
    join();
    throw;
  }
}

Decoders::~Decoders() {
  queue_.close();  // a consumer leaving by an exception: the workers end at their next message
  join();
}

void Decoders::start_worker(bool first_pass) {
  auto watch = std::make_shared<DecodeWatch>();
  DecodeStats& stats = stats_.emplace_back();
  workers_.reserve(workers_.size() + 1);  // no throw between the thread's start and its keeping
  // The thread holds its own share of its watch: a thread left behind stuck may wake after this object is gone.
  workers_.push_back({std::thread([this, watch, &stats, first_pass] {
                        run(*watch, stats, first_pass);
                        if (watch->given_up()) stuck_reads::came_back();  // woke after all (the count is process-wide)
                      }),
                      watch});
}

std::size_t Decoders::backlog_cap() {
  const char* env = std::getenv("XSEARCH_COMMIT_BACKLOG_BYTES");
  if (!env) return std::size_t{512} << 20;  // a few long videos' embeddings and thumbnails, on any machine
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(env, &end, 10);
  int shift = 0;
  if (end != env && *end != '\0' && end[1] == '\0') shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
  const bool bad = end == env || *env == '-' || errno == ERANGE || v < 1 || shift < 0 || (shift == 0 && *end != '\0') || v > (1ULL << 40) >> shift;
  if (bad)
    throw Error(std::string("XSEARCH_COMMIT_BACKLOG_BYTES must be a whole number of bytes from 1 to 1 TiB, optionally followed by K, M or G (got \"") + env + "\")");
  return static_cast<std::size_t>(v << shift);
}

std::string Decoders::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

void Decoders::join() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.notify_all();  // the watchdog looks again at once: after a stop, stuck decoders are left sooner
    changed_.wait(lock, [this] { return alive_ == 0; });  // meanwhile the watchdog still watches
    stop_watchdog_ = true;
  }
  changed_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  for (auto& w : workers_) {
    if (!w.thread.joinable()) continue;
    // A worker given up may be stuck for good in a read: left behind (decode_watch.hpp says why that is safe).
    if (w.watch->given_up()) w.thread.detach();
    else w.thread.join();
  }
}

DecodeStats Decoders::stats() const {
  DecodeStats total;
  for (const auto& s : stats_) {
    total.frames_decoded += s.frames_decoded;
    total.busy_seconds += s.busy_seconds;
    total.backlog_waits += s.backlog_waits;
  }
  return total;
}

int Decoders::handle(std::size_t j, std::unique_lock<std::mutex>& lock, DecodeStats& stats, DecodeWatch& watch) {
  // The claim is a round trip to the server: asked without the lock, which the consumer (telling what is
  // stored), the watchdog and the other workers need meanwhile. The job is numbered once every ask begun
  // before its own is settled, so that the numbers follow the order of the asks, as under the lock.
  const std::size_t ticket = tickets_++;
  std::string error;
  JobClaim c = JobClaim::Mine;
  if (claim_) {
    lock.unlock();
    c = ask(claim_, jobs_[j], error);
    lock.lock();
    // Looked at every 0.1 s for a stop: an earlier ask may never return (a server gone without a word),
    // and the asks after it must not wait for it then. A claim won here is given back by the work's end.
    while (settled_ != ticket) {
      if (queue_.closed()) return kGone;
      turn_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
  ++settled_;
  turn_.notify_all();
  const bool given_up = !error.empty() && ++claim_errors_[j] >= kMaxClaimErrors;
  if (c == JobClaim::Taken && !given_up) return 1;
  const std::size_t seq = next_seq_++;
  lock.unlock();
  if (given_up) {
    VideoFinished end{j, jobs_[j].file.path + ": cannot claim the video (" + error + ")", false, {}, {}, 0, false, true, seq};
    return queue_.push(std::move(end)) ? 0 : kGone;
  }
  if (c == JobClaim::Done) {
    VideoFinished end{j, {}, false, {}, {}, 0, true, false, seq};
    return queue_.push(std::move(end)) ? 0 : kGone;
  }
  if (decode_video(jobs_, j, seq, settings_, queue_, stats, watch)) return 0;
  return watch.given_up() ? kGivenUp : kGone;  // given up: nothing of this object is touched any more
}

void Decoders::committed_through(std::size_t seq, std::size_t held_bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    committed_ = std::max(committed_, seq);
    held_bytes_ = held_bytes;
  }
  room_.notify_all();
}

int Decoders::first_pass_step(DecodeStats& stats, DecodeWatch& watch) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Never waits for itself: the oldest video not stored (number committed_) is already handed out, to a
  // worker that is not here. But its last clips may sit in the model's unfinished batch, which only fills
  // if the workers go on: the waiting message makes the consumer embed them now (and again every 0.1 s
  // while there is no room). The push is made without the lock, which the consumer takes to say what is
  // stored. A stop is noticed within 0.1 s. The same wait while the videos finished behind the oldest hold
  // more bytes than the cap; the oldest itself is never held back (when none is handed out, this worker's
  // next video is the oldest), so the run always moves on.
  // Handed out: the videos numbered, and those whose claim is being asked (a ticket taken, not yet settled).
  auto handed_out = [&] { return next_seq_ + (tickets_ - settled_); };
  bool tell = true;
  bool counted = false;
  while (next_ < jobs_.size() && (handed_out() >= committed_ + lookahead_ || (handed_out() > committed_ && held_bytes_ >= backlog_cap_))) {
    if (queue_.closed()) return kGone;
    if (!counted && handed_out() < committed_ + lookahead_) {  // held back by the bytes, not the count: once a wait
      ++stats.backlog_waits;
      counted = true;
    }
    if (tell) {
      lock.unlock();
      const bool pushed = queue_.push(DecoderWaiting{});
      lock.lock();
      if (!pushed) return kGone;
      tell = false;
      continue;
    }
    room_.wait_for(lock, std::chrono::milliseconds(100));
    tell = true;
  }
  while (next_ < jobs_.size()) {
    const std::size_t j = next_++;
    const int r = handle(j, lock, stats, watch);  // unlocks unless put off
    if (r == 1) {
      later_.push_back(j);
      continue;
    }
    return r < 0 ? r : 1;
  }
  return 0;
}

bool Decoders::retry_put_off(DecodeStats& stats, DecodeWatch& watch) {
  // Only this worker is left (or the one that took its place): the others ended their first pass, so
  // everything handed out before is in the queue, and the waiting message lets the consumer store it
  // (another process may be waiting for it). The jobs stay in later_ until handled, so that a worker
  // taking this one's place finds the rest.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    retrying_ = &watch;
  }
  for (;;) {
    std::size_t round = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      round = later_.size();
    }
    if (round == 0) return true;
    if (!queue_.push(DecoderWaiting{})) return true;
    for (int tick = 0; tick < 5; ++tick) {  // half a second, a stop noticed within 0.1 s
      if (queue_.closed()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (; round > 0; --round) {
      std::unique_lock<std::mutex> lock(mutex_);
      const std::size_t j = later_.front();
      later_.erase(later_.begin());
      const int r = handle(j, lock, stats, watch);  // unlocks unless put off
      if (r == kGivenUp) return false;
      if (r < 0) return true;
      if (r == 1) later_.push_back(j);
    }
  }
}

void Decoders::run(DecodeWatch& watch, DecodeStats& stats, bool first_pass) {
  int r = 0;
  if (first_pass) {
    r = 1;
    while (r == 1) r = first_pass_step(stats, watch);
    if (r == kGivenUp) return;  // another worker has this one's place and counts
  }
  bool retries = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool last = !first_pass || --in_first_pass_ == 0;
    retries = r == 0 && last;
  }
  if (retries && !retry_put_off(stats, watch)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (--alive_ == 0) queue_.close();  // the last one out: the consumer has everything
  changed_.notify_all();
}

void Decoders::watch_stalls() {
  using std::chrono::milliseconds;
  const milliseconds tick = std::clamp(std::chrono::duration_cast<milliseconds>(stall_limit_) / 4, milliseconds(100), milliseconds(1000));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_watchdog_) {
    // After a stop (join() wakes this at once), a decoder that has not come back within kStopGrace is stuck
    // in a read: left behind rather than after the whole limit, and looked at every 0.05 s, so that
    // Ctrl-C ends the run well within 2 s.
    const bool stopping = queue_.closed();
    changed_.wait_for(lock, stopping ? milliseconds(50) : tick);
    if (stop_watchdog_) break;
    const DecodeWatch::clock::duration limit =
        queue_.closed() ? std::min<DecodeWatch::clock::duration>(stall_limit_, kStopGrace) : stall_limit_;
    const auto now = DecodeWatch::clock::now();
    for (std::size_t w = 0; w < workers_.size(); ++w) {
      const std::shared_ptr<DecodeWatch> watch = workers_[w].watch;
      const auto stalled = watch->give_up_if_stalled(now, limit);
      if (!stalled) continue;
      const bool retrying = retrying_ == watch.get();
      // The video's end, in the stuck decoder's place, before a new worker starts: the last worker out
      // closes the queue, and this end must be in it by then. (Not sent when the consumer has gone.)
      lock.unlock();
      VideoFinished end{stalled->job, {}, false, {}, {}, 0, false, false, stalled->seq};
      end.error = jobs_[stalled->job].file.path + ": no progress for " + std::to_string(stall_limit_.count()) +
                  " s while decoding (a read that does not return, or a stuck decoder): given up for this run";
      end.stalled = true;
      queue_.push(std::move(end));
      stuck_reads::left_behind();
      lock.lock();
      // After a stop no worker is needed in its place (and a stop is no error). Once too many threads are
      // stuck, no new worker either, and no more videos: each could leave one more thread behind.
      const bool stopped = queue_.closed();
      if (!stopped && stuck_reads::full() && error_.empty()) {
        error_ = stuck_reads::full_message();
        queue_.close();
      }
      bool replaced = false;
      if (!queue_.closed()) {
        try {
          start_worker(!retrying);  // it inherits the stuck one's counts
          replaced = true;
        } catch (const std::exception&) {
          // No thread for its place (out of threads or memory): the other workers go on, or the run ends
          // with what is done.
        }
      }
      if (!replaced) {
        // The counts are given back as its end would have.
        if (!retrying) --in_first_pass_;
        if (--alive_ == 0) queue_.close();
        changed_.notify_all();
      }
    }
  }
}

}  // namespace xsearch::pipeline
