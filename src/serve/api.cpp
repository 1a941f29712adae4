// The JSON answers of `xsearch serve` (serve/api.hpp).
#include "serve/api.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <random>
#include <set>
#include <system_error>

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

// Bytes of a file, 0 when it is not there (the WAL and the index file may be missing).
static int64_t file_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

json Api::info() const {
  const Library lib = library();
  const auto model = lib.model();
  const VideoCounts counts = lib.video_counts();
  // What the library takes on disk: the database, its write-ahead log and the index file (the media
  // cache of thumbnails and renditions is not counted: it can be deleted at any time).
  const int64_t size = file_bytes(lib.path()) + file_bytes(lib.path().string() + "-wal") + file_bytes(lib.index_path());
  return {{"db", lib.path().string()}, {"model", model ? model->name : ""}, {"videos", lib.video_count()}, {"clips", lib.clip_count()},
          {"partial", counts.partial}, {"failed", counts.failed}, {"size_bytes", size}, {"version", XSEARCH_VERSION}};
}

json Api::hit_json(const Library& lib, const QueryHit& h) {
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
  return hit;
}

json Api::clip_json(const Library& lib, const ClipRow& c) {
  QueryHit h;
  h.path = c.path;
  h.start = h.peak = c.start;
  h.end = h.peak_end = c.end;
  h.clip_ids = {c.id};
  h.peak_clip_id = c.id;
  h.video_id = c.video_id;
  json j = hit_json(lib, h);
  for (const char* unscored : {"rank", "score", "peak_score"}) j.erase(unscored);
  return j;
}

json Api::recent(int n) {
  const Library lib = library();
  std::vector<VideoRecord> videos;
  for (auto& v : lib.videos())
    if (v.status != "failed" && v.clips > 0) videos.push_back(std::move(v));
  std::sort(videos.begin(), videos.end(), [](const VideoRecord& a, const VideoRecord& b) {
    return a.mtime_ns != b.mtime_ns ? a.mtime_ns > b.mtime_ns : a.id > b.id;
  });
  json out = json::array();
  for (const auto& v : videos) {
    if (static_cast<int>(out.size()) >= n) break;
    const auto clips = lib.clips_of_video(v.id);
    if (clips.empty()) continue;
    // Played from the start for about kMoreSeconds (then "keep watching"), shown by its middle clip.
    QueryHit h;
    h.path = v.path;
    h.video_id = v.id;
    h.start = h.peak = clips.front().start;
    for (const auto& c : clips) {
      if (!h.clip_ids.empty() && c.end - h.start > kMoreSeconds + 1e-6) break;
      h.clip_ids.push_back(c.id);
      h.end = c.end;
    }
    h.peak_end = clips.front().end;
    h.peak_clip_id = clips.front().id;
    json j = hit_json(lib, h);
    const int64_t middle = clips[clips.size() / 2].id;
    j["thumbnail"] = "/api/thumbnails/" + std::to_string(middle);
    j["clip_id"] = middle;
    for (const char* unscored : {"rank", "score", "peak_score"}) j.erase(unscored);
    j["duration"] = v.duration;
    j["clips"] = v.clips;
    j["mtime"] = v.mtime_ns / 1000000000;
    out.push_back(j);
  }
  return out;
}

json Api::sample(int n, uint64_t seed) {
  const Library lib = library();
  std::vector<std::pair<int64_t, int64_t>> videos;  // id, clips
  int64_t total = 0;
  for (const auto& v : lib.videos())
    if (v.status != "failed" && v.clips > 0) videos.emplace_back(v.id, v.clips), total += v.clips;
  json out = json::array();
  if (total == 0) return out;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, total - 1);
  std::map<int64_t, std::vector<ClipRow>> clips_of;
  std::set<int64_t> taken;
  // A uniform draw over all clips; a few more tries than asked absorb repeats (no clip shown twice).
  for (int tries = 0; static_cast<int>(out.size()) < std::min<int64_t>(n, total) && tries < 4 * n + 16; ++tries) {
    int64_t r = pick(rng);
    std::size_t i = 0;
    while (r >= videos[i].second) r -= videos[i++].second;
    auto it = clips_of.find(videos[i].first);
    if (it == clips_of.end()) it = clips_of.emplace(videos[i].first, lib.clips_of_video(videos[i].first)).first;
    if (it->second.empty()) continue;
    const ClipRow& c = it->second[static_cast<std::size_t>(r) % it->second.size()];
    if (!taken.insert(c.id).second) continue;
    out.push_back(clip_json(lib, c));
  }
  return out;
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
    std::unique_lock<std::mutex> lock(query_mutex_);
    if (q.embedder) {
      // Except while a dropped example is embedded (the model's helper: seconds, up to its time limit):
      // text queries keep answering meanwhile. serve lets few drops embed at once (ExampleSlots).
      q.embedder = [embed = std::move(q.embedder), &lock](const ExampleRequest& request) {
        lock.unlock();
        struct Relock {
          std::unique_lock<std::mutex>& lock;
          ~Relock() { lock.lock(); }
        } relock{lock};
        return embed(request);
      };
    }
    r = query(q);
  }
  const Library lib = library();
  json results = json::array();
  for (const auto& h : r.results) {
    json hit = hit_json(lib, h);
    if (q.group_by_video) {
      // The video's best moments (the first is the hit itself), each playable on its own.
      json moments = json::array();
      for (const auto& m : h.moments) moments.push_back(hit_json(lib, m));
      hit["moments"] = moments;
    }
    results.push_back(hit);
  }
  json example = nullptr;
  if (!r.example.kind.empty()) {
    // As `query --json`: a still has no time.
    const bool timed = r.example.kind != "image";
    example = {{"kind", r.example.kind}, {"path", r.example.path}, {"start", timed ? json(r.example.start) : json(nullptr)},
               {"end", timed ? json(r.example.end) : json(nullptr)}, {"weight", r.example.weight}};
  }
  json terms = json::array();  // as `query --json` lists them: the page shows what each term weighed
  for (std::size_t i = 0; i < r.terms.size(); ++i)
    terms.push_back({{"text", r.terms[i].first}, {"sign", r.terms[i].second},
                     {"weight", i < r.term_weights.size() ? r.term_weights[i] : 1.0}});
  return {{"query", r.query},  {"model", r.model},           {"reranked", r.reranked}, {"terms", terms},
          {"group", q.group_by_video ? "video" : "segment"}, {"example", example},
          {"results", results}, {"query_tokens", r.query_tokens}, {"truncated", r.truncated},
          {"warnings", r.warnings}, {"no_results", r.no_results}};
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
