// `--path PATTERN` (query, export, serve's `path`): which videos a search keeps. A pattern with a
// wildcard (`*`, `?` or `[`) is a glob (fnmatch, `*` also crosses `/`) matched against the video's
// whole absolute path, so `Holiday` as a glob could never match; a pattern without one is a plain
// substring of the path, so `--path Holiday` finds `/home/me/Videos/Holiday 2024/beach.mp4`.
#pragma once

#include <string>

namespace xsearch::pipeline {

class PathFilter {
 public:
  explicit PathFilter(std::string pattern);

  bool empty() const { return pattern_.empty(); }
  bool is_glob() const { return glob_; }
  // True for every path when the pattern is empty.
  bool matches(const std::string& path) const;
  // For "no results": how the pattern was matched, with an example path, and what to try.
  std::string explain(const std::string& example_path) const;

 private:
  std::string pattern_;
  bool glob_ = false;
};

}  // namespace xsearch::pipeline
