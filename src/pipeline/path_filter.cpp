#include "pipeline/path_filter.hpp"

#include <fnmatch.h>

namespace xsearch::pipeline {

PathFilter::PathFilter(std::string pattern) : pattern_(std::move(pattern)) {
  glob_ = pattern_.find_first_of("*?[") != std::string::npos;
}

bool PathFilter::matches(const std::string& path) const {
  if (pattern_.empty()) return true;
  if (!glob_) return path.find(pattern_) != std::string::npos;
  return fnmatch(pattern_.c_str(), path.c_str(), 0) == 0;
}

std::string PathFilter::explain(const std::string& example_path) const {
  const std::string example = example_path.empty() ? "" : " such as " + example_path;
  if (!glob_) return "--path '" + pattern_ + "' is in no video's path" + example + " (a plain word is matched anywhere in the path, case included)";
  std::string hint = "--path '" + pattern_ + "' matches no video: a glob is matched against the whole absolute path" + example;
  if (pattern_.front() != '*' && pattern_.front() != '/') hint += "; try '*" + pattern_ + (pattern_.back() == '*' ? "'" : "*'");
  return hint;
}

}  // namespace xsearch::pipeline
