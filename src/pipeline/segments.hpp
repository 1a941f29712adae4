// From scored clips to the segments `query` shows: clips of one video that touch are joined around their
// best clip (the peak), up to a length limit, so that asking for more results gives more results rather
// than fewer, longer ones (issue 23: a one-hour video merged into one hit).
#pragma once

#include <vector>

#include "xsearch/library.hpp"
#include "xsearch/query.hpp"

namespace xsearch::pipeline {

struct ScoredClip {
  ClipRow clip;
  double score = 0;
};

// Segments of the candidates, best first (score, then path, then start). Each segment grows from its
// peak, the best clip not yet taken, by taking the better of the touching neighbours among the
// candidates while the segment stays within `max_seconds` (0: three times the video's longest candidate
// clip, i.e. three windows); a clip longer than the limit is a segment on its own. Segments of one video
// never share a clip; they may touch where a long stretch of the video matches.
std::vector<QueryHit> build_segments(std::vector<ScoredClip> candidates, double max_seconds);

// One hit per video, in the order of its best segment: the hit is that segment, and `moments` holds the
// video's best `per_video` segments (that one first). `segments` must be best first.
std::vector<QueryHit> group_by_video(const std::vector<QueryHit>& segments, int per_video);

}  // namespace xsearch::pipeline
