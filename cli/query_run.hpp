// A query as the CLI runs it, shared by `query` and `export --query`: the flags, the library's options
// made of them, and the run that prints the hits (cli/cmd_query.cpp).
#pragma once

#include <string>

#include "xsearch/query.hpp"

namespace xsearch::cli {

constexpr int kMaxResults = 1000;  // -k for query (serve's API has the same bound)

struct QueryArgs {
  std::string text, db, model, device = "auto", glob, like, group = "segment";
  std::string image, video;  // search by example: a still image, a clip of any video (PATH[@TIME])
  std::string vector_out;    // --vector-out FILE: the query vector as .npy
  int k = 10, threads = 0, open = 0;  // open: the hit to play (1-based), 0 for none
  double min_score = -1e9, max_segment = 0;
  double weight = 0.5;  // the example's share with a text
  bool json = false, rerank = false, timings = false, no_thumbnails = false, paths_only = false;
};

QueryOptions options_from(const QueryArgs& a);

// Runs the query and prints it (JSON, lines or paths); says on stderr why there is nothing. Returns the
// exit status: 0 with results, 1 without.
int run_query(const QueryArgs& a);

// "xsearch: no results: WHY" on stderr (nothing when there are results).
void say_no_results(const QueryResult& r);

}  // namespace xsearch::cli
