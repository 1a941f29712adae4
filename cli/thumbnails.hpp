// Thumbnails for the CLI: `query --json` carries each hit's thumbnail file, made when missing. The light
// `xsearch` has no FFmpeg, so it runs `xsearch-media thumbnails` for the missing ones.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "xsearch/query.hpp"

namespace xsearch::cli {

// The thumbnail file (`<db>.thumbs/<video>/<clip>.jpg`) of each hit's best clip (its peak); "" where there is none.
// With `make`, missing ones are made first (a failure is a warning on stderr, and "" for that hit).
std::vector<std::string> hit_thumbnails(const std::filesystem::path& db, const std::vector<QueryHit>& hits, bool make);

}  // namespace xsearch::cli
