// Browser renditions of a segment: for a video a browser cannot play (media/browser_playable.hpp), the
// segment re-encoded as H.264 in MP4 (else VP9 in WebM, ...: media/encoder_choice.hpp), at most 720 lines,
// square pixels, a keyframe every second, and the audio when a browser plays its codec. Made on demand
// and cached in the media cache (`<db>.thumbs/<video>/<first clip>-<last clip>.mp4`).
#pragma once

#include <filesystem>
#include <string>

#include "media/segment.hpp"
#include "xsearch/library.hpp"

namespace xsearch::media {

// The longest rendition made: a longer segment's rendition covers its first this many seconds.
constexpr double kMaxRenditionSeconds = 120;

struct Rendition {
  std::filesystem::path file;
  std::string mime;
  bool from_cache = false;
  double seconds_to_make = 0;  // 0 from the cache
  double start = 0, end = 0;   // the source times it covers (its time 0 is `start`)
};

// The rendition of clips first..last (of one video of `library`, first.start < last.end), made once even
// when asked for by several threads at the same time. Throws xsearch::Error naming the video when it
// cannot be made; a cache that cannot be written is an error too (the file is what gets served).
Rendition segment_rendition(const Library& library, const ClipRow& first, const ClipRow& last);

// The settings renditions are made with (exposed for tests and the benchmark in the README).
EncodeOptions rendition_settings();

}  // namespace xsearch::media
