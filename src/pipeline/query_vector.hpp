// The vector a query searches with: the text's terms (+ and -), an example (a stored clip, an image, a
// clip of any video) or both, combined as README's query section, "Combining", says.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "xsearch/library.hpp"
#include "xsearch/query.hpp"

namespace xsearch::pipeline {

struct QueryVector {
  std::vector<float> vector;    // unit: inner products are cosines
  std::vector<float> text_raw;  // a plain one-term text: get_text_features (for --rerank); else empty
  int64_t source_clip = -1;     // --like alone: the clip asked about, first among equals
};

// Builds the query vector of `o` for `library` (whose model is `identity`), filling the result's query,
// terms, example, token count, truncation and warnings. `phase(name)` marks the end of each timed step.
// Throws xsearch::Error for a query without text or example, more than one example, a bad term, an
// example file that cannot be read, or a model that is not the library's.
QueryVector build_query_vector(const QueryOptions& o, const Library& library, const ModelIdentity& identity, QueryResult& result,
                               const std::function<void(const char*)>& phase);

// The library's clip rule, for embedding a clip of another file as ingest did: the window is the length of
// a full clip (the first clip of a video with two or more), the stride the distance between its first two
// starts; a library whose videos all have one clip gives its longest clip for both. Looks at the first
// 100 videos (a library is ingested with one rule; 4 s windows when it has no clips).
std::pair<double, double> library_clip_rule(const Library& library);

}  // namespace xsearch::pipeline
