// The JSON side of `xsearch serve`: queries answered as `xsearch query --json` answers them, each hit
// also saying where its thumbnail is and how the page plays it (the original file, or a rendition when a
// browser cannot play it). The library is opened read-only for each request.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "media/browser_playable.hpp"
#include "serve/server.hpp"
#include "xsearch/library.hpp"
#include "xsearch/query.hpp"

namespace xsearch::serve {

class Api {
 public:
  explicit Api(const ServeOptions& options) : o_(options) {}

  Library library() const;
  const ServeOptions& options() const { return o_; }

  // The start page's summary: videos (indexed, partial, failed), clips, model, size on disk.
  nlohmann::ordered_json info() const;
  // The start page: the `n` newest videos (by file time, then by id), each with a thumbnail of its
  // middle clip and a play object from its start.
  nlohmann::ordered_json recent(int n);
  // The start page: `n` clips drawn at random (a video in proportion to its clips, then one of its
  // clips; no clip twice), the same ones for the same `seed`.
  nlohmann::ordered_json sample(int n, uint64_t seed);
  // A query (text or `like`) with the server's library and model; hits carry clip_id, video_id,
  // thumbnail, video and play (README: "API").
  nlohmann::ordered_json run(QueryOptions q);

  // A clip or an indexed video by id; nullopt for an id the library does not hold.
  std::optional<ClipRow> clip(int64_t id) const;
  std::optional<VideoRecord> video(int64_t id) const;
  // Whether a browser plays the video's file as it is (remembered per file size and time).
  media::Playability playability(const std::string& path);
  // "Keep watching" after the rendition of clips first..last: {"more": URL of the rendition of what
  // follows}, or {} at the video's end.
  nlohmann::ordered_json more(const ClipRow& first, const ClipRow& last) const;

 private:
  // The URL of the rendition of the clips of `video_id` that start at `after` seconds or later, about
  // 30 s of them (at least one clip); empty when none follows.
  std::string more_after(const Library& library, int64_t video_id, double after) const;

  nlohmann::ordered_json play(const Library& library, const QueryHit& hit, int64_t video_id);
  // A hit's or a moment's fields as the page reads them (thumbnail, video, play).
  nlohmann::ordered_json hit_json(const Library& library, const QueryHit& h);
  // A clip as a hit without a score (start page): path, times, clip_id, video_id, thumbnail, play.
  nlohmann::ordered_json clip_json(const Library& library, const ClipRow& c);

  ServeOptions o_;
  std::mutex query_mutex_;
  std::mutex playable_mutex_;
  struct Known {
    int64_t size = 0, mtime_ns = 0;
    media::Playability playability;
  };
  std::map<std::string, Known> playable_;
};

}  // namespace xsearch::serve
