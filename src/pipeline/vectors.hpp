// Small vector helpers shared by ingest (stored embeddings) and query (query vectors).
#pragma once

#include <cmath>
#include <vector>

namespace xsearch {

// `v` scaled to unit length (a zero vector stays zero): inner products become cosine similarities.
inline std::vector<float> normalised(std::vector<float> v) {
  double n = 0;
  for (float x : v) n += static_cast<double>(x) * x;
  n = std::sqrt(n);
  if (n > 0)
    for (float& x : v) x = static_cast<float>(x / n);
  return v;
}

}  // namespace xsearch
