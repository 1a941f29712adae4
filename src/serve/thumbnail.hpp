// Clip thumbnails, made lazily and cached beside the library: `<db>.thumbs/<clip id>.jpg`. The frame
// nearest the clip's middle, upright and at display aspect, about 320 px wide, as a baseline JPEG.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace xsearch::serve {

struct Thumbnail {
  std::string jpeg;   // the file's bytes
  bool from_cache = false;
};

// The thumbnail folder of a library: `<db>.thumbs` (removed with the library by deleting both).
std::filesystem::path thumbnail_dir(const std::filesystem::path& db);

// A JPEG of the frame of `video` nearest `time`, scaled to `width` px wide (never enlarged), aspect kept.
// Throws xsearch::Error naming the file when it cannot be decoded or encoded.
std::string make_thumbnail_jpeg(const std::filesystem::path& video, double time, int width = 320);

// The cached thumbnail of clip `clip_id` (of `video`, [start, end)), made and cached on first use. The cache
// file is written to a temporary name then renamed, so a reader never sees half a file; a folder that
// cannot be written (read-only media) only costs the caching.
Thumbnail clip_thumbnail(const std::filesystem::path& db, int64_t clip_id, const std::filesystem::path& video, double start,
                         double end);

}  // namespace xsearch::serve
