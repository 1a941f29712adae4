// Printing query hits (cli/hits_output.hpp).
#include "cli/hits_output.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "cli/common.hpp"
#include "cli/shell_quote.hpp"

namespace xsearch::cli {

namespace {

using json = nlohmann::ordered_json;

json segment_json(const QueryHit& h) {
  return {{"start", h.start}, {"end", h.end},     {"score", h.score}, {"clip_ids", h.clip_ids}, {"peak", h.peak},
          {"peak_end", h.peak_end}, {"peak_score", h.peak_score}, {"peak_clip_id", h.peak_clip_id}};
}

// A string padded to `width` bytes (times are ASCII).
std::string pad(const std::string& s, std::size_t width) { return s + std::string(width > s.size() ? width - s.size() : 0, ' '); }

}  // namespace

json hits_json(const QueryResult& r, const std::vector<std::string>& thumbnails) {
  json results = json::array();
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const auto& h = r.results[i];
    json hit = {{"rank", h.rank}, {"path", h.path}, {"start", h.start}, {"end", h.end}, {"score", h.score},
                {"clip_ids", h.clip_ids}, {"offline", h.offline}, {"video_id", h.video_id}};
    hit["thumbnail"] = i < thumbnails.size() && !thumbnails[i].empty() ? json(thumbnails[i]) : nullptr;
    hit["peak"] = h.peak;
    hit["peak_end"] = h.peak_end;
    hit["peak_score"] = h.peak_score;
    hit["peak_clip_id"] = h.peak_clip_id;
    if (!h.moments.empty()) {
      json moments = json::array();
      for (const auto& m : h.moments) moments.push_back(segment_json(m));
      hit["moments"] = moments;
    }
    results.push_back(hit);
  }
  json terms = json::array();
  for (std::size_t i = 0; i < r.terms.size(); ++i)
    terms.push_back({{"text", r.terms[i].first}, {"sign", r.terms[i].second},
                     {"weight", i < r.term_weights.size() ? r.term_weights[i] : 1.0}});
  json example = nullptr;
  if (!r.example.kind.empty()) {
    const bool clip = r.example.kind != "image";  // a still has no time
    example = {{"kind", r.example.kind}, {"path", r.example.path}, {"start", clip ? json(r.example.start) : json(nullptr)},
               {"end", clip ? json(r.example.end) : json(nullptr)}, {"weight", r.example.weight}};
  }
  return {{"query", r.query}, {"model", r.model}, {"reranked", r.reranked}, {"results", results},
          {"query_tokens", r.query_tokens}, {"truncated", r.truncated}, {"terms", terms}, {"example", example}};
}

std::string hits_text(const std::vector<QueryHit>& hits, bool grouped) {
  // Two passes: the time columns are as wide as their widest entry, so that the paths line up.
  std::vector<std::string> when, peak;
  for (const auto& h : hits) {
    if (grouped) {
      std::string times;
      for (const auto& m : h.moments) times += (times.empty() ? "" : ", ") + format_time(m.peak);
      when.push_back(times);
      peak.emplace_back();
    } else {
      when.push_back(format_time(h.start) + "-" + format_time(h.end));
      peak.push_back("@" + format_time(h.peak));
    }
  }
  std::size_t when_width = 0, peak_width = 0;
  for (const auto& w : when) when_width = std::max(when_width, w.size());
  for (const auto& p : peak) peak_width = std::max(peak_width, p.size());
  std::string out;
  for (std::size_t i = 0; i < hits.size(); ++i) {
    const auto& h = hits[i];
    out += fmt::format("{:>3}  {:>7.4f}  {}  ", h.rank, h.score, pad(when[i], when_width));
    if (!grouped) out += pad(peak[i], peak_width) + "  ";
    out += shell_quote(h.path) + (h.offline ? "  (offline)" : "") + "\n";
  }
  return out;
}

std::string hits_paths(const std::vector<QueryHit>& hits) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& h : hits)
    if (seen.insert(h.path).second) out += shell_quote(h.path) + "\n";
  return out;
}

}  // namespace xsearch::cli
