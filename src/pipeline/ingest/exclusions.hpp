// Exclusions remembered per root (`ingest ROOT --exclude GLOB`, `xsearch exclude`): what the walk skips.
// A pattern is matched against the path relative to the root it was given for, whichever folder under that
// root a run walks (watch walks only the folders that changed):
//   a glob (`*`, `?` or `[`): fnmatch as `--path` does (pipeline/path_filter.hpp), `*` crossing `/`, so
//     `Holiday 2024/**` is the folder and all under it, `**/*.tmp` any depth; a leading `**/` also matches
//     at the root itself (`**/cache` is `cache` too);
//   a plain path (`Holiday 2024`, `old/raw.mp4`): that entry, and everything under it when it is a folder.
// A folder that matches is not walked at all. Excluded videos already in the library are kept (their names
// are still in the folder listings, so presence finds them present); ingest counts them.
#pragma once

#include <string>
#include <vector>

#include "pipeline/path_filter.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

// The pattern as stored: `./` and trailing `/` dropped (a trailing slash means the folder: `X/` is `X/**`).
// Throws xsearch::Error for an empty pattern, an absolute one, or one with a `..` part (outside the root).
std::string normalize_exclude_pattern(const std::string& pattern);

class ExcludeRules {
 public:
  ExcludeRules() = default;
  explicit ExcludeRules(const std::vector<Exclusion>& exclusions);

  bool empty() const { return rules_.empty(); }
  // For the walk: whether this entry (absolute, normalised; its folders above already walked) is excluded.
  bool excludes_entry(const std::string& path, bool is_folder) const;
  // Whether `path` or a folder above it (below a root with exclusions) is excluded.
  bool excluded(const std::string& path) const;

 private:
  struct Rule {
    std::string root;
    std::string pattern;
    PathFilter glob;  // is_glob() false: `pattern` is a plain relative path
  };
  static bool matches(const Rule& rule, const std::string& relative, bool is_folder);
  std::vector<Rule> rules_;
};

}  // namespace xsearch::pipeline
