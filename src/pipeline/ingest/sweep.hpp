// Stage 5 of ingest, sweep: videos of the library under the walked roots that the walk did not find and
// that are gone from disk leave the library.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "pipeline/ingest/reporter.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

void sweep_missing(Library& library, const std::vector<std::string>& roots, const std::set<std::string>& seen,
                   const Reporter& reporter);

}  // namespace xsearch::pipeline
