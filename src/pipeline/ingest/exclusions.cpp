#include "pipeline/ingest/exclusions.hpp"

#include "pipeline/paths.hpp"
#include "xsearch/error.hpp"

namespace xsearch::pipeline {

std::string normalize_exclude_pattern(const std::string& pattern) {
  std::string p = pattern;
  while (p.compare(0, 2, "./") == 0) p.erase(0, 2);
  bool folder = false;
  while (p.size() > 1 && p.back() == '/') {
    p.pop_back();
    folder = true;
  }
  if (p.empty() || p == "." || p == "/") throw Error("--exclude '" + pattern + "': an empty pattern would exclude the whole root");
  if (p.front() == '/')
    throw Error("--exclude '" + pattern + "': patterns are relative to the root (e.g. 'Holiday 2024/**'), not absolute");
  const std::string wrapped = "/" + p + "/";
  if (wrapped.find("/../") != std::string::npos) throw Error("--exclude '" + pattern + "': a '..' part would reach outside the root");
  if (folder && p.find_first_of("*?[") != std::string::npos) p += "/**";
  return p;
}

ExcludeRules::ExcludeRules(const std::vector<Exclusion>& exclusions) {
  for (const auto& e : exclusions) rules_.push_back({e.root, e.pattern, PathFilter(e.pattern)});
}

bool ExcludeRules::matches(const Rule& rule, const std::string& rel, bool is_folder) {
  if (!rule.glob.is_glob()) return rel == rule.pattern || (rel.size() > rule.pattern.size() && rel.compare(0, rule.pattern.size(), rule.pattern) == 0 &&
                                                           rel[rule.pattern.size()] == '/');
  auto glob = [&](const std::string& r) {
    if (rule.glob.matches(r)) return true;
    // `**/x` also at the root's own level: fnmatch needs the literal `/`.
    return rule.pattern.compare(0, 3, "**/") == 0 && PathFilter(rule.pattern.substr(3)).matches(r);
  };
  // A folder also as `DIR/`, so that `DIR/**` keeps the folder itself from being walked.
  return glob(rel) || (is_folder && glob(rel + "/"));
}

bool ExcludeRules::excludes_entry(const std::string& path, bool is_folder) const {
  for (const auto& rule : rules_) {
    if (path == rule.root || !path_under(path, rule.root)) continue;
    const std::string rel = path.substr(rule.root == "/" ? 1 : rule.root.size() + 1);
    if (matches(rule, rel, is_folder)) return true;
  }
  return false;
}

bool ExcludeRules::excluded(const std::string& path) const {
  for (const auto& rule : rules_) {
    if (path == rule.root || !path_under(path, rule.root)) continue;
    const std::string rel = path.substr(rule.root == "/" ? 1 : rule.root.size() + 1);
    for (std::size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1))
      if (matches(rule, rel.substr(0, slash), true)) return true;
    if (matches(rule, rel, false)) return true;
  }
  return false;
}

}  // namespace xsearch::pipeline
