#include "pipeline/ingest/commit.hpp"

#include <algorithm>
#include <cstdio>

#include "xsearch/media_cache.hpp"

namespace xsearch::pipeline {

namespace {

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s);
  return buf;
}

}  // namespace

void PendingVideo::opened(const VideoInfo& info, std::size_t planned) {
  planned_ = planned;
  record_.duration = info.duration();
  record_.fps = info.fps;
  record_.width = info.width;
  record_.height = info.height;
}

void PendingVideo::embedded(std::size_t clip, ClipData data) {
  if (clips_.size() <= clip) clips_.resize(clip + 1);
  bytes_ += data.embedding.size() * sizeof(float) + data.prompt_tokens.size() * sizeof(uint16_t);
  clips_[clip] = std::move(data);
  ++embedded_;
}

PendingVideo& Committer::pending(std::size_t job) {
  auto it = pending_.find(job);
  if (it == pending_.end()) it = pending_.emplace(job, PendingVideo(record_of(jobs_[job]))).first;
  return it->second;
}

void Committer::opened(const VideoOpened& message) { pending(message.job).opened(message.info, message.clips); }

PendingVideo::Undone Committer::restarted(std::size_t job) {
  const auto it = pending_.find(job);
  if (it == pending_.end()) return {};
  const PendingVideo::Undone undone = it->second.undone();
  pending_.erase(it);  // its record too: what opening found is found again, or the video fails as unopened
  return undone;
}

void Committer::received(const ClipItem& clip) { pending(clip.job).received(clip); }

void Committer::embedded(std::size_t job, std::size_t clip, ClipData data) { pending(job).embedded(clip, std::move(data)); }

void Committer::decoded(VideoFinished message) {
  const std::size_t job = message.job;
  finished_[message.seq] = job;
  pending(job).decoded(std::move(message));
}

std::size_t Committer::commit_ready() {
  std::size_t stored = 0;
  for (auto it = finished_.find(next_seq_); it != finished_.end(); it = finished_.find(next_seq_)) {
    if (!commit_if_ready(it->second)) break;
    finished_.erase(it);
    ++next_seq_;
    ++stored;
  }
  return stored;
}

std::size_t Committer::held_bytes() {
  std::size_t held = 0;
  for (const auto& [seq, job] : finished_)  // a few per decoder: the lookahead bounds them
    if (seq != next_seq_) held += pending(job).bytes();
  held_peak_ = std::max(held_peak_, held);
  return held;
}

bool Committer::commit_if_ready(std::size_t job) {
  auto it = pending_.find(job);
  if (it == pending_.end() || it->second.state() != PendingVideo::State::Ready) return false;
  PendingVideo& v = it->second;
  RunSummary& summary = reporter_.summary();
  const std::string& path = jobs_[job].file.path;
  const VideoFinished& end = v.end();
  if (end.elsewhere) {
    ++summary.elsewhere;  // another worker stored this very file: nothing of it was decoded here
  } else if (end.unclaimed) {
    reporter_.failure(path, cause_of(end.error, path));  // counted as failed; nothing written
  } else if (end.stalled) {
    // Given up by the decode watchdog: counted as failed, and nothing written, not even the clips sent
    // before (a stall says nothing about the file, which a later run tries again); the claim goes back.
    reporter_.failure(path, cause_of(end.error, path));
    try {
      library_.release_video(path);
    } catch (const Error&) {
      // the server unreachable for a moment: the claim lapses with its lease instead
    }
  } else if (v.clip_count() > 0) {
    v.clips().resize(v.clip_count());
    // A read error after some clips, or damage the reader reported: the video is partial, retried next time.
    std::string partial = !end.partial.empty() ? end.partial : !end.error.empty() ? cause_of(end.error, path) : "";
    if (!partial.empty()) {
      if (!end.partial.empty())
        for (auto& clip : v.clips()) clip.end = std::min(clip.end, end.good_until);
      const double until = v.clips().back().end;
      partial = "partial: indexed up to " + format_seconds(until) + " s of " + format_seconds(v.record().duration) + " s (" + partial + ")";
      v.record().status = "partial";
      v.record().error = partial;
    }
    Library::Saved saved;
    try {
      saved = library_.save_video(v.record(), v.clips());
    } catch (const ClaimLost& e) {
      // A shared library: this worker was too slow to renew its claim and another took the video over.
      ++summary.elsewhere;
      reporter_.warning(path, cause_of(e.what(), path));
      pending_.erase(it);
      return true;
    }
    // After the commit (which dropped the video's old cache folder): a crash here only costs thumbnails,
    // which serve or `xsearch thumbnails` make again.
    for (std::size_t i = 0; i < saved.clip_ids.size() && i < v.thumbnails().size(); ++i)
      if (!v.thumbnails()[i].empty())
        write_cache_file(thumbnail_path(library_.media_base(), saved.video_id, saved.clip_ids[i]), v.thumbnails()[i]);
    ++summary.indexed;
    summary.clips += static_cast<int64_t>(v.clip_count());
    if (!partial.empty()) reporter_.partial(path, partial);
    if (!end.warning.empty()) reporter_.warning(path, cause_of(end.warning, path));
  } else if (end.not_a_video) {
    // It looked like a video (its name, or FFmpeg's probe) until decoded: a still GIF, an audio file
    // named .mp4. Said by name, so that it is not a silent skip.
    const std::string cause = cause_of(end.error, path);
    reporter_.not_video(path, cause.find("not a video") != std::string::npos ? cause : "not a video: " + cause, true);
    library_.release_video(path, true);  // a shared library: nobody is to embed it
  } else {
    const std::string cause = end.error.empty() ? "no clips" : cause_of(end.error, path);
    v.record().status = "failed";
    v.record().error = cause;
    try {
      library_.save_failure(v.record());
    } catch (const ClaimLost& e) {
      ++summary.elsewhere;
      reporter_.warning(path, cause_of(e.what(), path));
      pending_.erase(it);
      return true;
    }
    reporter_.failure(path, cause);
  }
  pending_.erase(it);
  return true;
}

}  // namespace xsearch::pipeline
