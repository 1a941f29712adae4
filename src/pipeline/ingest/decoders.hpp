// Stage 2's workers: N decoder threads, each decoding one whole video at a time (decode.hpp), all sending
// into the one bounded queue, so that what is decoded and not yet embedded is bounded in total, whatever N.
// The videos are handed out in the plan's order and numbered as handed out (VideoFinished::seq); the
// consumer commits them in that order (commit.hpp), so a run stopped or killed midway has stored a prefix
// of the plan, as with one decoder. A worker takes a new video only while fewer than kLookahead per worker
// are handed out beyond the oldest not yet stored: the videos finished behind a long one wait with their
// embeddings only, but a stop would throw their work away, so both are bounded.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
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

  // The consumer has stored every video numbered below `seq` (Committer::committed_through()): lets the
  // workers hand out more.
  void committed_through(std::size_t seq);
  // Videos per worker that may be handed out beyond the oldest not yet stored.
  static constexpr std::size_t kLookahead = 8;

  // Waits for every worker; then stats() adds up their work.
  void join();
  DecodeStats stats() const;

 private:
  // 1: decoded (or settled) one; 0: nothing left in the first pass; -1: the consumer has gone.
  int first_pass_step(DecodeStats& stats);
  void retry_put_off(DecodeStats& stats);
  // Handles job j under the lock's claim order: -1 consumer gone, 0 done/settled, 1 put off (another holds it).
  int handle(std::size_t j, std::unique_lock<std::mutex>& lock, DecodeStats& stats);
  void run(std::size_t worker);

  const std::vector<Job>& jobs_;
  const DecodeSettings& settings_;
  BlockingQueue<DecodeMessage>& queue_;
  const ClaimJob claim_;
  std::mutex mutex_;  // guards everything below but the threads
  std::condition_variable room_;  // committed_ moved on
  std::size_t next_ = 0, next_seq_ = 0, committed_ = 0, lookahead_ = kLookahead;
  std::vector<std::size_t> later_;
  std::vector<int> claim_errors_;
  int in_first_pass_ = 0, alive_ = 0;
  std::vector<DecodeStats> stats_;  // one per worker, each written by its worker only
  std::vector<std::thread> threads_;
};

}  // namespace xsearch::pipeline
