// Stage 5 of ingest, sweep: videos of the library under the walked roots that the walk did not find leave
// the library when they are proven gone (presence.hpp). Videos under offline roots stay (counted), unless
// the user asked to prune them; a video whose presence cannot be checked is a failure, and stays.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/ingest/presence.hpp"
#include "pipeline/ingest/reporter.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

// `stop` (may be empty) is asked before each video: when it says stop, the sweep ends there (what it
// removed was proven gone) and returns false.
bool sweep_missing(Library& library, const std::vector<std::string>& roots, const std::set<std::string>& seen,
                   const Presence& presence, bool prune_offline, const Reporter& reporter,
                   const std::function<bool()>& stop = {});

}  // namespace xsearch::pipeline
