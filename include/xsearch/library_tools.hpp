// Library commands beside ingest and query: export every clip, remove videos.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace xsearch {

class Library;

// Every clip of the library (path, start, end, ids), for `xsearch export`; with `path_pattern`, those of
// the videos it matches (a glob, or a plain substring: QueryOptions::path_glob). When none is left,
// `why_none` (may be null) says why: an empty library, or how the pattern was matched.
struct ExportedClip {
  int64_t clip_id = 0, video_id = 0;
  std::string path;
  double start = 0, end = 0;
};
std::vector<ExportedClip> export_clips(const std::filesystem::path& db, const std::string& path_pattern = "",
                                       std::string* why_none = nullptr);

// Removes the videos at `path` (a file, or every video under a folder); returns how many.
int64_t remove_videos(const std::filesystem::path& db, const std::filesystem::path& path);
int64_t remove_videos(Library& library, const std::filesystem::path& path);  // a library opened for writing

}  // namespace xsearch
