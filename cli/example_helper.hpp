// Search by example from `xsearch-media` (serve): the vision model needs LibTorch, which only
// `xsearch-full` links, so the example is embedded by that helper as `xsearch query --image/--video`
// would embed it (its --vector-out), in a child process; this one stays free of LibTorch.
#pragma once

#include <filesystem>

#include "xsearch/query.hpp"

namespace xsearch::cli {

// How long the helper may take with one example before it is killed: the variable, else the default.
inline constexpr const char* kExampleSecondsVariable = "XSEARCH_SERVE_EXAMPLE_SECONDS";
inline constexpr int kDefaultExampleSeconds = 120;
// `value` (the variable's, or null): a whole number from 1 to 86400; throws xsearch::Error naming the
// variable otherwise.
int example_helper_seconds(const char* value);

// An embedder that runs `xsearch-full query --db DB --image|--video FILE --vector-out FILE.npy` for each
// request. Its files (FILE.npy, FILE.out, FILE.err) go beside the example, which should be in a private
// folder; the caller removes them. Throws xsearch::Error with the helper's message when it fails (an
// unreadable image, a video without frames) or cannot be started, and ExampleTimedOut when it ran past
// `seconds` (it is killed and reaped first).
ExampleEmbedder helper_example_embedder(const std::filesystem::path& db, int seconds = kDefaultExampleSeconds);

}  // namespace xsearch::cli
