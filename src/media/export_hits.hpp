// `xsearch export --clips DIR`: each hit cut into a file of its own (stream copy from the keyframe at or
// before its start, or frame-accurate with `exact`), plus clips.csv and clips.edl listing them.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "media/clip_lists.hpp"
#include "xsearch/query.hpp"

namespace xsearch::media {

struct ExportOptions {
  // Created when missing; files of the same names are replaced, and the clip files that the folder's
  // previous clips.csv lists (an earlier export's, directly in the folder) are removed once the new list
  // is written. Nothing else in the folder is touched.
  std::filesystem::path dir;
  bool exact = false;
  // Called before each cut (for a progress line): how many are done, of how many, and the hit.
  std::function<void(std::size_t done, std::size_t total, const QueryHit& hit)> on_start;
};

// The file name of a hit's clip: "NNN_<video name>_<start>-<end>.<extension>" (rank, seconds).
std::string clip_file_name(const QueryHit& hit, const std::string& extension);

// Cuts the hits in rank order, calling `on_file` after each; a hit that cannot be cut gets its `error`
// and the others go on. Then writes DIR/clips.csv and DIR/clips.edl (titled `title`) and removes the
// previous list's files that the new one does not hold (`removed` counts them). Throws xsearch::Error
// only when DIR or the lists cannot be written.
std::vector<ExportedFile> export_hits(const std::vector<QueryHit>& hits, const std::string& title, const ExportOptions& options,
                                      const std::function<void(const ExportedFile&)>& on_file = {}, std::size_t* removed = nullptr);

}  // namespace xsearch::media
