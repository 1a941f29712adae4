#include "pipeline/segments.hpp"

#include <algorithm>
#include <map>
#include <numeric>

namespace xsearch::pipeline {

namespace {

// Times are stored as doubles from the decoder: a clip that starts where another ends may differ by
// rounding.
constexpr double kEps = 1e-6;

// The segments of one video's candidates (sorted by start), grown around peaks.
void video_segments(std::vector<ScoredClip>& clips, double max_seconds, std::vector<QueryHit>& out) {
  std::sort(clips.begin(), clips.end(), [](const ScoredClip& a, const ScoredClip& b) {
    return a.clip.start != b.clip.start ? a.clip.start < b.clip.start : a.clip.id < b.clip.id;
  });
  double limit = max_seconds;
  if (limit <= 0) {
    double window = 0;
    for (const auto& c : clips) window = std::max(window, c.clip.end - c.clip.start);
    limit = 3 * window;
  }
  std::vector<std::size_t> by_score(clips.size());
  std::iota(by_score.begin(), by_score.end(), 0);
  // Best first; among equals the earliest, so that the result does not depend on the search's order.
  std::stable_sort(by_score.begin(), by_score.end(), [&](std::size_t a, std::size_t b) { return clips[a].score > clips[b].score; });
  std::vector<bool> taken(clips.size(), false);
  for (const std::size_t peak : by_score) {
    if (taken[peak]) continue;
    std::size_t lo = peak, hi = peak;
    double start = clips[peak].clip.start, end = clips[peak].clip.end;
    for (;;) {
      // A neighbour joins when it touches the segment and the joined segment stays within the limit.
      auto fits = [&](std::size_t i) {
        const auto& c = clips[i].clip;
        if (taken[i] || c.start > end + kEps || c.end < start - kEps) return false;
        return std::max(end, c.end) - std::min(start, c.start) <= limit + kEps;
      };
      const bool left = lo > 0 && fits(lo - 1);
      const bool right = hi + 1 < clips.size() && fits(hi + 1);
      if (!left && !right) break;
      const std::size_t next = left && right ? (clips[lo - 1].score >= clips[hi + 1].score ? lo - 1 : hi + 1) : left ? lo - 1 : hi + 1;
      if (next < lo) lo = next;
      else hi = next;
      start = std::min(start, clips[next].clip.start);
      end = std::max(end, clips[next].clip.end);
    }
    QueryHit h;
    h.path = clips[peak].clip.path;
    h.video_id = clips[peak].clip.video_id;
    h.start = start;
    h.end = end;
    h.score = clips[peak].score;
    h.peak = clips[peak].clip.start;
    h.peak_end = clips[peak].clip.end;
    h.peak_score = clips[peak].score;
    h.peak_clip_id = clips[peak].clip.id;
    for (std::size_t i = lo; i <= hi; ++i) {
      taken[i] = true;
      h.clip_ids.push_back(clips[i].clip.id);
    }
    out.push_back(std::move(h));
  }
}

}  // namespace

std::vector<QueryHit> build_segments(std::vector<ScoredClip> candidates, double max_seconds) {
  std::map<int64_t, std::vector<ScoredClip>> by_video;
  for (auto& c : candidates) by_video[c.clip.video_id].push_back(std::move(c));
  std::vector<QueryHit> hits;
  for (auto& [video, clips] : by_video) video_segments(clips, max_seconds, hits);
  std::sort(hits.begin(), hits.end(), [](const QueryHit& a, const QueryHit& b) {
    return a.score != b.score ? a.score > b.score : a.path != b.path ? a.path < b.path : a.start < b.start;
  });
  return hits;
}

std::vector<QueryHit> group_by_video(const std::vector<QueryHit>& segments, int per_video) {
  std::vector<QueryHit> videos;
  std::map<int64_t, std::size_t> index_of;
  for (const auto& s : segments) {
    auto it = index_of.find(s.video_id);
    if (it == index_of.end()) {
      index_of.emplace(s.video_id, videos.size());
      videos.push_back(s);
      videos.back().moments = {s};
    } else if (static_cast<int>(videos[it->second].moments.size()) < per_video) {
      videos[it->second].moments.push_back(s);
    }
  }
  return videos;
}

}  // namespace xsearch::pipeline
