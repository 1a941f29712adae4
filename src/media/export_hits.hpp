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
  std::filesystem::path dir;  // created when missing; files of the same names are replaced
  bool exact = false;
};

// The file name of a hit's clip: "NNN_<video name>_<start>-<end>.<extension>" (rank, seconds).
std::string clip_file_name(const QueryHit& hit, const std::string& extension);

// Cuts the hits in rank order, calling `on_file` after each; a hit that cannot be cut gets its `error`
// and the others go on. Then writes DIR/clips.csv and DIR/clips.edl (titled `title`). Throws
// xsearch::Error only when DIR or the lists cannot be written.
std::vector<ExportedFile> export_hits(const std::vector<QueryHit>& hits, const std::string& title, const ExportOptions& options,
                                      const std::function<void(const ExportedFile&)>& on_file = {});

}  // namespace xsearch::media
