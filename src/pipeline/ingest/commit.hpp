// Stage 4 of ingest, commit: gather each video's embedded clips and store the video in one transaction
// once nothing of it is still on the way. Decoding runs ahead of the model, so a video's clips can sit in
// the model's batch after the decoder has finished with it; each video therefore moves through
//
//   Receiving  the decoder is sending its clips (received counts those handed to the model),
//   Decoded    the decoder is done with it (why, in `end`), some received clips not yet embedded,
//   Ready      decoded and every received clip embedded: commit() stores it and forgets it.
//
// A video that has not reached Ready when the run stops is never written (the library keeps what it had).
// Several decoders finish videos out of order; commit_ready() stores them in the order they were handed out
// (VideoFinished::seq, the plan's order), so that what a stopped or killed run leaves is a prefix of the
// plan, as with one decoder. A Ready video waits for the ones before it with only its embeddings held.
// Once stored, its clips' thumbnails go into the media cache under their new clip ids.
#pragma once

#include <cstddef>
#include <map>
#include <vector>

#include "pipeline/ingest/decode.hpp"
#include "pipeline/ingest/reporter.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

class PendingVideo {
 public:
  enum class State { Receiving, Decoded, Ready };

  explicit PendingVideo(VideoRecord record) : record_(std::move(record)) {}

  void opened(const VideoInfo& info, std::size_t planned);
  // What a restart (decode.hpp) withdraws: the clips planned, and those embedded already.
  struct Undone {
    std::size_t planned = 0, embedded = 0;
  };
  Undone undone() const { return {planned_, embedded_}; }
  void received(const ClipItem& clip) {
    ++received_;
    if (thumbnails_.size() <= clip.clip) thumbnails_.resize(clip.clip + 1);
    bytes_ += clip.thumbnail.size() - thumbnails_[clip.clip].size();
    thumbnails_[clip.clip] = clip.thumbnail;
  }
  void embedded(std::size_t clip, ClipData data);
  void decoded(VideoFinished end) {
    end_ = std::move(end);
    decoded_ = true;
  }
  State state() const { return !decoded_ ? State::Receiving : embedded_ < received_ ? State::Decoded : State::Ready; }

  VideoRecord& record() { return record_; }
  const VideoFinished& end() const { return end_; }
  std::size_t clip_count() const { return received_; }
  std::vector<ClipData>& clips() { return clips_; }
  const std::vector<std::string>& thumbnails() const { return thumbnails_; }
  // What its embeddings and thumbnails take in memory, about (the payloads, not the containers).
  std::size_t bytes() const { return bytes_; }

 private:
  VideoRecord record_;
  std::size_t planned_ = 0, received_ = 0, embedded_ = 0, bytes_ = 0;
  bool decoded_ = false;
  VideoFinished end_{};
  std::vector<ClipData> clips_;  // by clip index
  std::vector<std::string> thumbnails_;  // JPEGs by clip index ("" where none was made)
};

// The videos between the decoder and the library, by job index.
class Committer {
 public:
  Committer(Library& library, const std::vector<Job>& jobs, const Reporter& reporter)
      : library_(library), jobs_(jobs), reporter_(reporter) {}

  void opened(const VideoOpened& message);
  void received(const ClipItem& clip);
  void embedded(std::size_t job, std::size_t clip, ClipData data);
  void decoded(VideoFinished message);
  // Forgets what was received of the video (its clips were planned from a wrong end): it starts afresh.
  PendingVideo::Undone restarted(std::size_t job);
  // Stores the video of `job` if it is Ready; true when it did (the file is done).
  bool commit_if_ready(std::size_t job);
  // Stores the Ready videos next in handing-out order (seq 0, 1, 2, ...), stopping at the first that is
  // not Ready; returns how many it stored.
  std::size_t commit_ready();
  // Every video numbered below this is stored (or settled).
  std::size_t committed_through() const { return next_seq_; }
  // The bytes held by the decoded videos waiting behind the oldest one not stored (Decoders caps them),
  // and the most they held during the run.
  std::size_t held_bytes();
  std::size_t held_bytes_peak() const { return held_peak_; }

 private:
  PendingVideo& pending(std::size_t job);

  Library& library_;
  const std::vector<Job>& jobs_;
  const Reporter& reporter_;
  std::map<std::size_t, PendingVideo> pending_;
  std::map<std::size_t, std::size_t> finished_;  // seq -> job, of the decoded videos not yet committed
  std::size_t next_seq_ = 0, held_peak_ = 0;
};

}  // namespace xsearch::pipeline
