// The JSON answers of `xsearch serve` (serve/api.hpp).
#include "serve/api.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "media/rendition.hpp"
#include "xsearch/error.hpp"

namespace xsearch::serve {

namespace {

using json = nlohmann::ordered_json;

// "Keep watching" past a rendition's end plays the rendition of about this many seconds after it.
constexpr double kMoreSeconds = 30;

std::string rendition_url(int64_t first, int64_t last) { return "/api/renditions/" + std::to_string(first) + "-" + std::to_string(last); }

}  // namespace

Library Api::library() const { return Library::open(o_.db, false); }

json Api::info() const {
  const Library lib = library();
  const auto model = lib.model();
  return {{"db", lib.path().string()}, {"model", model ? model->name : ""}, {"videos", lib.video_count()}, {"clips", lib.clip_count()},
          {"version", XSEARCH_VERSION}};
}

media::Playability Api::playability(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {false, "", "file missing"};
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  {
    std::lock_guard<std::mutex> lock(playable_mutex_);
    auto it = playable_.find(path);
    if (it != playable_.end() && it->second.size == st.st_size && it->second.mtime_ns == mtime) return it->second.playability;
  }
  media::Playability p;
  try {
    p = media::browser_playable(path);
  } catch (const Error& e) {
    p.reason = e.what();
  }
  std::lock_guard<std::mutex> lock(playable_mutex_);
  playable_[path] = {static_cast<int64_t>(st.st_size), mtime, p};
  return p;
}

// How the page plays a hit: the original file from the segment's best moment (its peak), or a rendition of
// the segment (its time 0 is the segment's start; playback starts at the peak in it) with `more`, the
// rendition of what follows, for "keep watching".
json Api::play(const Library& library, const QueryHit& hit, int64_t video_id) {
  const media::Playability p = playability(hit.path);
  const double peak = hit.peak_clip_id > 0 ? std::max(hit.start, std::min(hit.peak, hit.end)) : hit.start;
  if (p.playable || hit.clip_ids.empty())
    return {{"url", "/api/videos/" + std::to_string(video_id)}, {"start", peak}, {"end", hit.end}, {"rendition", false},
            {"segment_start", hit.start}};
  const double length = std::min(hit.end - hit.start, media::kMaxRenditionSeconds);
  json j = {{"url", rendition_url(hit.clip_ids.front(), hit.clip_ids.back())},
            {"start", std::min(peak - hit.start, length)},
            {"end", length},
            {"rendition", true},
            {"reason", p.reason},
            {"segment_start", 0.0}};
  const std::string more = more_after(library, video_id, hit.start + length);
  if (!more.empty()) j["more"] = more;
  return j;
}

std::string Api::more_after(const Library& library, int64_t video_id, double after) const {
  int64_t from = -1, to = -1;
  double from_start = 0;
  for (const auto& c : library.clips_of_video(video_id)) {
    if (c.start < after - 1e-6) continue;
    if (from < 0) from = c.id, from_start = c.start;
    if (to > 0 && c.end - from_start > kMoreSeconds + 1e-6) break;  // one clip at least, however long
    to = c.id;
  }
  return from > 0 && to > 0 ? rendition_url(from, to) : std::string();
}

json Api::more(const ClipRow& first, const ClipRow& last) const {
  // What the rendition of first..last covered (media/rendition.cpp cuts it at kMaxRenditionSeconds).
  const double covered_end = std::min(last.end, first.start + media::kMaxRenditionSeconds);
  const std::string next = more_after(library(), first.video_id, covered_end);
  return next.empty() ? json::object() : json{{"more", next}};
}

json Api::run(QueryOptions q) {
  q.db = o_.db;
  q.model_dir = o_.model_dir;
  q.threads = o_.threads;
  QueryResult r;
  {
    // One query at a time: the text encoder uses every core already.
    std::lock_guard<std::mutex> lock(query_mutex_);
    r = query(q);
  }
  const Library lib = library();
  json results = json::array();
  for (const auto& h : r.results) {
    json hit = {{"rank", h.rank},     {"path", h.path},         {"start", h.start},    {"end", h.end},
                {"score", h.score},   {"clip_ids", h.clip_ids}, {"offline", h.offline}, {"peak", h.peak},
                {"peak_end", h.peak_end}, {"peak_score", h.peak_score}, {"peak_clip_id", h.peak_clip_id}};
    if (!h.clip_ids.empty()) {
      // The best clip: its thumbnail shows what the hit is about, and "more like this" searches with it.
      const int64_t clip = h.peak_clip_id > 0 ? h.peak_clip_id : h.clip_ids.front();
      hit["clip_id"] = clip;
      hit["video_id"] = h.video_id;
      hit["thumbnail"] = "/api/thumbnails/" + std::to_string(clip);
      hit["video"] = "/api/videos/" + std::to_string(h.video_id);
      hit["play"] = play(lib, h, h.video_id);
    }
    results.push_back(hit);
  }
  return {{"query", r.query}, {"model", r.model}, {"reranked", r.reranked}, {"results", results},
          {"query_tokens", r.query_tokens}, {"truncated", r.truncated}, {"warnings", r.warnings}};
}

std::optional<ClipRow> Api::clip(int64_t id) const {
  if (id <= 0) return std::nullopt;
  const auto rows = library().clips_by_id({id});
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::optional<VideoRecord> Api::video(int64_t id) const {
  if (id <= 0) return std::nullopt;
  for (auto& v : library().videos())
    if (v.id == id && v.status != "failed") return v;
  return std::nullopt;
}

}  // namespace xsearch::serve
