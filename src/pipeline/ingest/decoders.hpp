// Stage 2's workers: N decoder threads, each decoding one whole video at a time (decode.hpp), all sending
// into the one bounded queue, so that what is decoded and not yet embedded is bounded in total, whatever N.
// The videos are handed out in the plan's order and numbered as handed out (VideoFinished::seq); the
// consumer commits them in that order (commit.hpp), so a run stopped or killed midway has stored a prefix
// of the plan, as with one decoder. A worker takes a new video only while fewer than kLookahead per worker
// are handed out beyond the oldest not yet stored: the videos finished behind a long one wait with their
// embeddings only, but a stop would throw their work away, so both are bounded; so are the bytes those
// videos hold ($XSEARCH_COMMIT_BACKLOG_BYTES, backlog_cap()). A claim (a shared library) is a round trip to
// the server, asked without the workers' lock.
// A watchdog thread gives up a video whose decoder has made no progress for $XSEARCH_DECODE_STALL_SECONDS
// (decode_watch.hpp): it sends the video's end in the decoder's place (failed, `stalled`), leaves the stuck
// thread behind and starts a new worker in its place, so that the run goes on with as many decoders, until
// too many threads are stuck (stuck_reads.hpp): then the run stops with error().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/blocking_queue.hpp"
#include "pipeline/ingest/decode.hpp"

namespace xsearch::pipeline {

// How many decoders, and FFmpeg threads for each, when the user says nothing (--decoders 0).
struct DecoderSplit {
  int decoders = 1;
  int ffmpeg_threads = 0;  // 0: FFmpeg's own choice (one decoder, as before there were several)
};
DecoderSplit choose_decoders(int requested, unsigned cores);

class Decoders {
 public:
  // Starts `workers` threads over `jobs`. With `claim` (a shared library), a job another process holds is
  // put off and asked for again every half second once the first pass is over, until it is stored elsewhere
  // or becomes this one's; the last worker to finish the first pass does those retries. The queue is closed
  // when the last worker ends. A closed queue (the consumer stopped) ends every worker at its next message
  // or file read.
  Decoders(const std::vector<Job>& jobs, const DecodeSettings& settings, BlockingQueue<DecodeMessage>& queue, ClaimJob claim,
           int workers);
  ~Decoders();
  Decoders(const Decoders&) = delete;
  Decoders& operator=(const Decoders&) = delete;

  // The consumer has stored every video numbered below `seq` (Committer::committed_through()), and the
  // videos finished behind the oldest hold `held_bytes` (Committer::held_bytes()): lets the workers hand
  // out more.
  void committed_through(std::size_t seq, std::size_t held_bytes = 0);
  // Videos per worker that may be handed out beyond the oldest not yet stored.
  static constexpr std::size_t kLookahead = 8;
  // While the videos finished behind the oldest one not stored hold this many bytes or more (their
  // embeddings and thumbnails), no worker takes a new video, but for the oldest itself (never a deadlock):
  // $XSEARCH_COMMIT_BACKLOG_BYTES (a whole number of bytes, or with K, M or G), else 512 MiB.
  static std::size_t backlog_cap();
  // Why the workers stopped early, or empty: too many threads left stuck in reads (stuck_reads.hpp).
  std::string error() const;

  // Waits for every worker (a stuck one is left behind once the watchdog gave it up); then stats() adds up
  // their work.
  void join();
  DecodeStats stats() const;

 private:
  // Results of the steps below: 1 decoded (or settled) one, or put off; 0 nothing left; kGone the consumer
  // has gone; kGivenUp the watchdog gave this worker's video up (the worker must touch nothing of this
  // object any more: decode_watch.hpp).
  static constexpr int kGone = -1, kGivenUp = -2;
  int first_pass_step(DecodeStats& stats, DecodeWatch& watch);
  // false when given up.
  bool retry_put_off(DecodeStats& stats, DecodeWatch& watch);
  // Handles job j under the lock's claim order: kGone, kGivenUp, 0 done/settled, 1 put off (another holds it).
  int handle(std::size_t j, std::unique_lock<std::mutex>& lock, DecodeStats& stats, DecodeWatch& watch);
  void run(DecodeWatch& watch, DecodeStats& stats, bool first_pass);
  // A new worker thread (under mutex_): in the first pass, or taking over the retries.
  void start_worker(bool first_pass);
  void watch_stalls();

  struct Worker {
    std::thread thread;
    std::shared_ptr<DecodeWatch> watch;
  };

  const std::vector<Job>& jobs_;
  const DecodeSettings& settings_;
  BlockingQueue<DecodeMessage>& queue_;
  const ClaimJob claim_;
  const std::chrono::seconds stall_limit_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable room_;  // committed_ moved on
  std::condition_variable changed_;  // a worker ended, or the watchdog is to stop
  std::condition_variable turn_;  // a claim's ticket was settled
  std::size_t next_ = 0, next_seq_ = 0, committed_ = 0, lookahead_ = kLookahead;
  std::size_t held_bytes_ = 0;
  const std::size_t backlog_cap_;
  // Claims are asked without the lock (a round trip to the server); the jobs are numbered in the order
  // their asks began: each ask takes a ticket, and is settled when every earlier ticket is.
  std::size_t tickets_ = 0, settled_ = 0;
  std::string error_;
  std::vector<std::size_t> later_;
  std::vector<int> claim_errors_;
  // Workers in the first pass and alive; a worker given up is never counted off: the one that takes its
  // place inherits its counts.
  int in_first_pass_ = 0, alive_ = 0;
  const DecodeWatch* retrying_ = nullptr;  // the watch of the worker doing the retries, once one is
  bool stop_watchdog_ = false;
  std::deque<DecodeStats> stats_;  // one per worker, each written by its worker only (a deque: never moved)
  std::vector<Worker> workers_;
  std::thread watchdog_;
};

}  // namespace xsearch::pipeline
