// The media cache of a library: thumbnails and browser renditions, made on demand and kept beside the
// database in `<db>.thumbs/`, one folder per video:
//
//   <db>.thumbs/<video id>/<clip id>.jpg                 a clip's thumbnail
//   <db>.thumbs/<video id>/<first>-<last>.<mp4|webm>     a rendition of clips first..last (serve)
//
// Clip ids are never reused, so a cached file can never show another clip; the library drops a video's
// folder when the video is removed or indexed again (its clips get new ids). Only this layout is ever
// deleted: files with these names, directly in a video's folder, never through a symbolic link.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace xsearch {

// `<db>.thumbs`
std::filesystem::path media_cache_dir(const std::filesystem::path& db);
// `<db>.thumbs/<video id>`
std::filesystem::path video_cache_dir(const std::filesystem::path& db, int64_t video_id);
// `<db>.thumbs/<video id>/<clip id>.jpg`
std::filesystem::path thumbnail_path(const std::filesystem::path& db, int64_t video_id, int64_t clip_id);
// `<db>.thumbs/<video id>/<first clip>-<last clip>.<extension>` (extension without the dot: "mp4", "webm")
std::filesystem::path rendition_path(const std::filesystem::path& db, int64_t video_id, int64_t first_clip, int64_t last_clip,
                                     const std::string& extension);

// Whether `name` is one the cache writes (a thumbnail, a rendition, or a temporary file of either).
bool is_media_cache_name(const std::string& name);

// Deletes the cached files of a video: regular files named as above in `<db>.thumbs/<video id>/`, then
// the folder if that leaves it empty. Anything else (another file, a symbolic link, a subfolder) stays.
// Never throws: a cache that cannot be cleaned only costs disk space. Returns the number of files deleted.
int64_t drop_video_cache(const std::filesystem::path& db, int64_t video_id) noexcept;

// Removes the temporary files that a process of this host left in the cache when it was killed (a
// thumbnail or rendition being written by a serve that got SIGKILL): only io/atomic_file.hpp's names
// ("<cache file>.<host>.<pid>.<random>.tmp") with this host's name and a pid that no longer runs.
// Another host's (a library on a shared folder), a running process's, or any other name stays: nothing
// is deleted on a guess. Never throws; returns the number removed.
int64_t remove_dead_temp_files(const std::filesystem::path& db) noexcept;

// Writes `bytes` to `path` with atomic_write (io/atomic_file.hpp: readers never see half a file, and
// drop_video_cache recognises its temporary names); creates the folder. Returns false (and leaves nothing
// behind) when it cannot.
bool write_cache_file(const std::filesystem::path& path, const std::string& bytes) noexcept;

}  // namespace xsearch
