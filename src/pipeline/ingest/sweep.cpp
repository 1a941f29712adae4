#include "pipeline/ingest/sweep.hpp"

#include <unistd.h>

#include "pipeline/paths.hpp"

namespace xsearch::pipeline {

bool sweep_missing(Library& library, const std::vector<std::string>& roots, const std::set<std::string>& seen,
                   const Presence& presence, bool prune_offline, const Reporter& reporter, const std::function<bool()>& stop) {
  for (const auto& v : library.videos()) {
    if (seen.count(v.path)) continue;
    if (stop && stop()) return false;
    bool under = false;
    for (const auto& r : roots) under = under || path_under(v.path, r);
    if (!under) continue;
    std::string cause;
    switch (presence.check(v.path, cause)) {
      case Presence::Verdict::OutsideRoots:
      case Presence::Verdict::Present:
        break;  // there but no longer taken as a video (hidden, emptied), behind a folder not walked, or not this run's
      case Presence::Verdict::Offline:
        if (prune_offline) {
          library.remove_video(v.id);
          ++reporter.summary().removed;
        } else {
          ++reporter.report().offline_videos;
        }
        break;
      case Presence::Verdict::Unknown:
        if (!cause.empty()) reporter.failure(v.path, cause);
        break;
      case Presence::Verdict::Gone:
        // A shared library: another worker may have stored the file since this run's walk; only a file
        // still missing now is removed.
        if (library.shared() && ::access(v.path.c_str(), F_OK) == 0) break;
        library.remove_video(v.id);
        ++reporter.summary().removed;
        break;
    }
  }
  return true;
}

}  // namespace xsearch::pipeline
