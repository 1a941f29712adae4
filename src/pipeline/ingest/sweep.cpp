#include "pipeline/ingest/sweep.hpp"

#include "pipeline/paths.hpp"

namespace xsearch::pipeline {

void sweep_missing(Library& library, const std::vector<std::string>& roots, const std::set<std::string>& seen,
                   const Reporter& reporter) {
  for (const auto& v : library.videos()) {
    if (seen.count(v.path)) continue;
    bool under = false;
    for (const auto& r : roots) under = under || path_under(v.path, r);
    int64_t size, mtime;
    if (under && !stat_file(v.path, size, mtime)) {
      library.remove_video(v.id);
      ++reporter.summary().removed;
    }
  }
}

}  // namespace xsearch::pipeline
