#include "pipeline/ingest/decoders.hpp"

#include <algorithm>
#include <chrono>

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
    : jobs_(jobs), settings_(settings), queue_(queue), claim_(std::move(claim)), claim_errors_(jobs.size(), 0) {
  const int n = std::max(1, workers);
  in_first_pass_ = alive_ = n;
  lookahead_ = kLookahead * static_cast<std::size_t>(n);
  stats_.resize(static_cast<std::size_t>(n));
  try {
    for (int w = 0; w < n; ++w) threads_.emplace_back([this, w] { run(static_cast<std::size_t>(w)); });
  } catch (...) {
    // A thread that cannot be started: the destructor will not run, so end the ones that did here (a
    // joinable std::thread destroyed would terminate the process).
    queue_.close();
    join();
    throw;
  }
}

Decoders::~Decoders() {
  queue_.close();  // a consumer leaving by an exception: the workers end at their next message
  join();
}

void Decoders::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

DecodeStats Decoders::stats() const {
  DecodeStats total;
  for (const auto& s : stats_) {
    total.frames_decoded += s.frames_decoded;
    total.busy_seconds += s.busy_seconds;
  }
  return total;
}

int Decoders::handle(std::size_t j, std::unique_lock<std::mutex>& lock, DecodeStats& stats) {
  // The claim is asked, and the job numbered, under the lock: the numbers follow the order of the asks
  // (the library serialises claims anyway, so holding the lock meanwhile costs no parallelism).
  std::string error;
  const JobClaim c = claim_ ? ask(claim_, jobs_[j], error) : JobClaim::Mine;
  const bool given_up = !error.empty() && ++claim_errors_[j] >= kMaxClaimErrors;
  if (c == JobClaim::Taken && !given_up) return 1;
  const std::size_t seq = next_seq_++;
  lock.unlock();
  if (given_up) {
    VideoFinished end{j, jobs_[j].file.path + ": cannot claim the video (" + error + ")", false, {}, {}, 0, false, true, seq};
    return queue_.push(std::move(end)) ? 0 : -1;
  }
  if (c == JobClaim::Done) {
    VideoFinished end{j, {}, false, {}, {}, 0, true, false, seq};
    return queue_.push(std::move(end)) ? 0 : -1;
  }
  return decode_video(jobs_, j, seq, settings_, queue_, stats) ? 0 : -1;
}

void Decoders::committed_through(std::size_t seq) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    committed_ = std::max(committed_, seq);
  }
  room_.notify_all();
}

int Decoders::first_pass_step(DecodeStats& stats) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Never waits for itself: the oldest video not stored (number committed_) is already handed out, to a
  // worker that is not here. But its last clips may sit in the model's unfinished batch, which only fills
  // if the workers go on: the waiting message makes the consumer embed them now (and again every 0.1 s
  // while there is no room). The push is made without the lock, which the consumer takes to say what is
  // stored. A stop is noticed within 0.1 s.
  bool tell = true;
  while (next_ < jobs_.size() && next_seq_ >= committed_ + lookahead_) {
    if (queue_.closed()) return -1;
    if (tell) {
      lock.unlock();
      const bool pushed = queue_.push(DecoderWaiting{});
      lock.lock();
      if (!pushed) return -1;
      tell = false;
      continue;
    }
    room_.wait_for(lock, std::chrono::milliseconds(100));
    tell = true;
  }
  while (next_ < jobs_.size()) {
    const std::size_t j = next_++;
    const int r = handle(j, lock, stats);  // unlocks unless put off
    if (r == 1) {
      later_.push_back(j);
      continue;
    }
    return r < 0 ? -1 : 1;
  }
  return 0;
}

void Decoders::retry_put_off(DecodeStats& stats) {
  // Only this worker is left: the others ended their first pass, so everything handed out before is in the
  // queue, and the waiting message lets the consumer store it (another process may be waiting for it).
  std::vector<std::size_t> later;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    later.swap(later_);
  }
  while (!later.empty()) {
    if (!queue_.push(DecoderWaiting{})) return;
    for (int tick = 0; tick < 5; ++tick) {  // half a second, a stop noticed within 0.1 s
      if (queue_.closed()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::vector<std::size_t> still;
    for (const std::size_t j : later) {
      std::unique_lock<std::mutex> lock(mutex_);
      const int r = handle(j, lock, stats);
      if (r < 0) return;
      if (r == 1) still.push_back(j);
    }
    later.swap(still);
  }
}

void Decoders::run(std::size_t worker) {
  DecodeStats& stats = stats_[worker];
  int r = 1;
  while (r == 1) r = first_pass_step(stats);
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last = --in_first_pass_ == 0;
  }
  if (r == 0 && last) retry_put_off(stats);
  std::lock_guard<std::mutex> lock(mutex_);
  if (--alive_ == 0) queue_.close();  // the last one out: the consumer has everything
}

}  // namespace xsearch::pipeline
