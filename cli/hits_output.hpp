// How `query` and `export --query` print their hits: JSON for machines (README, "JSON output"), aligned
// lines for people (rank, score, segment, best moment, path last and shell-quoted), or paths only.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xsearch/query.hpp"

namespace xsearch::cli {

// The `query --json` document. `thumbnails`: each hit's thumbnail file, or "" (null) where there is none.
nlohmann::ordered_json hits_json(const QueryResult& r, const std::vector<std::string>& thumbnails);

// One line per hit: "  1   0.3124  0:12.0-0:24.0  @0:16.0  /v/dinner.mp4"; grouped by video, the best
// moments' times instead of the segment: "  1   0.3124  0:16.0, 5:02.0  /v/dinner.mp4". Scores keep their
// column when negative; times are padded to the widest.
std::string hits_text(const std::vector<QueryHit>& hits, bool grouped);

// Each video's path once, in rank order, one a line (shell-quoted when needed).
std::string hits_paths(const std::vector<QueryHit>& hits);

}  // namespace xsearch::cli
