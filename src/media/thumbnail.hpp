// Clip thumbnails, made lazily and cached beside the library: `<db>.thumbs/<video id>/<clip id>.jpg`
// (xsearch/media_cache.hpp). The frame nearest the clip's middle, upright and at display aspect, about
// 320 px wide, as a baseline JPEG.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "xsearch/library.hpp"
#include "xsearch/video.hpp"

namespace xsearch::media {

struct Thumbnail {
  std::string jpeg;   // the file's bytes
  bool from_cache = false;
};

// A decoded frame as a thumbnail JPEG, scaled to `width` px wide (never enlarged), aspect kept. Throws
// xsearch::Error when it cannot be encoded.
std::string thumbnail_jpeg(const RgbFrame& frame, int width = 320);

// A JPEG of the frame of `video` nearest `time`, scaled to `width` px wide (never enlarged), aspect kept.
// Throws xsearch::Error naming the file when it cannot be decoded or encoded.
std::string make_thumbnail_jpeg(const std::filesystem::path& video, double time, int width = 320);

// The cached thumbnail of `clip` (a clip of `library`), made and cached on first use. The cache file is
// written to a temporary name then renamed, so a reader never sees half a file; a folder that cannot be
// written (read-only media) only costs the caching. A clip that left the library while its picture was
// being made (a writer dropped the folder meanwhile) leaves no file behind.
Thumbnail clip_thumbnail(const Library& library, const ClipRow& clip);
// The same for several clips of one video, decoding it once for all that are not cached yet (in the
// order given). Throws xsearch::Error naming the video when one cannot be made.
std::vector<Thumbnail> clip_thumbnails(const Library& library, const std::vector<ClipRow>& clips);

}  // namespace xsearch::media
