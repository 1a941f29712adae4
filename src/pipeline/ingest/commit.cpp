#include "pipeline/ingest/commit.hpp"

namespace xsearch::pipeline {

void PendingVideo::opened(const VideoInfo& info) {
  record_.duration = info.duration();
  record_.fps = info.fps;
  record_.width = info.width;
  record_.height = info.height;
}

void PendingVideo::embedded(std::size_t clip, ClipData data) {
  if (clips_.size() <= clip) clips_.resize(clip + 1);
  clips_[clip] = std::move(data);
  ++embedded_;
}

PendingVideo& Committer::pending(std::size_t job) {
  auto it = pending_.find(job);
  if (it == pending_.end()) it = pending_.emplace(job, PendingVideo(record_of(jobs_[job]))).first;
  return it->second;
}

void Committer::opened(const VideoOpened& message) { pending(message.job).opened(message.info); }

void Committer::received(const ClipItem& clip) { pending(clip.job).received(); }

void Committer::embedded(std::size_t job, std::size_t clip, ClipData data) { pending(job).embedded(clip, std::move(data)); }

void Committer::decoded(VideoFinished message) {
  const std::size_t job = message.job;
  pending(job).decoded(std::move(message));
}

bool Committer::commit_if_ready(std::size_t job) {
  auto it = pending_.find(job);
  if (it == pending_.end() || it->second.state() != PendingVideo::State::Ready) return false;
  PendingVideo& v = it->second;
  RunSummary& summary = reporter_.summary();
  const std::string& path = jobs_[job].file.path;
  const VideoFinished& end = v.end();
  if (v.clip_count() > 0) {
    v.clips().resize(v.clip_count());
    library_.save_video(v.record(), v.clips());
    ++summary.indexed;
    summary.clips += static_cast<int64_t>(v.clip_count());
    if (!end.error.empty())
      reporter_.warning(path, "indexed the first " + std::to_string(v.clip_count()) + " clips only (" + cause_of(end.error, path) + ")");
    if (!end.warning.empty()) reporter_.warning(path, cause_of(end.warning, path));
  } else if (end.not_a_video) {
    ++summary.not_video;
  } else {
    const std::string cause = end.error.empty() ? "no clips" : cause_of(end.error, path);
    v.record().status = "failed";
    v.record().error = cause;
    library_.save_failure(v.record());
    reporter_.failure(path, cause);
  }
  pending_.erase(it);
  return true;
}

}  // namespace xsearch::pipeline
