// Search by example from `xsearch-media` (serve): the vision model needs LibTorch, which only
// `xsearch-full` links, so the example is embedded by that helper as `xsearch query --image/--video`
// would embed it (its --vector-out), in a child process; this one stays free of LibTorch.
#pragma once

#include <filesystem>

#include "xsearch/query.hpp"

namespace xsearch::cli {

// An embedder that runs `xsearch-full query --db DB --image|--video FILE --vector-out FILE.npy` for each
// request. Its files (FILE.npy, FILE.out, FILE.err) go beside the example, which should be in a private
// folder; the caller removes them. Throws xsearch::Error with the helper's message when it fails (an
// unreadable image, a video without frames) or cannot be started.
ExampleEmbedder helper_example_embedder(const std::filesystem::path& db);

}  // namespace xsearch::cli
