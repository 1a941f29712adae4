// `xsearch watch`: inotify (Linux) on every folder under the roots. Events become changes of paths: a file
// written, created, modified or moved in; a file deleted or moved out; a folder created or moved in (its
// watches added, all of it to ingest); a folder deleted or moved out; and an overflow of the kernel's queue
// (events lost: everything is rescanned). Hidden names (unless asked) and excluded paths are not watched.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pipeline/ingest/exclusions.hpp"

namespace xsearch::pipeline {

struct WatchChange {
  enum class Kind { Written, Gone, FolderIn, FolderGone, Overflow };
  Kind kind = Kind::Written;
  std::string path;  // absolute; empty for Overflow
};

class InotifyTree {
 public:
  // Throws xsearch::Error when inotify cannot be set up. `on_error(path, cause)`: a folder that could not be
  // watched (a full inotify watch table: /proc/sys/fs/inotify/max_user_watches); the rest goes on.
  InotifyTree(bool include_hidden, ExcludeRules rules, std::function<void(const std::string&, const std::string&)> on_error);
  ~InotifyTree();
  InotifyTree(const InotifyTree&) = delete;
  InotifyTree& operator=(const InotifyTree&) = delete;

  // Watches `folder` and every folder under it not watched yet (a missing one is skipped: it may be a
  // drive that is away).
  void add_tree(const std::string& folder);
  // Waits up to `timeout_ms` for events and appends the changes they make. False when interrupted by a
  // signal (nothing appended).
  bool read(int timeout_ms, std::vector<WatchChange>& out);
  std::size_t watched() const { return by_wd_.size(); }
  // The library's exclusions as they are now (`xsearch exclude add` while watching): later events under
  // them are dropped, and folders added later are not watched.
  void set_rules(ExcludeRules rules) { rules_ = std::move(rules); }

 private:
  bool skipped(const std::string& path, bool is_folder) const;
  void forget_tree(const std::string& folder);
  void handle(int wd, uint32_t mask, const std::string& name, std::vector<WatchChange>& out);

  int fd_ = -1;
  bool include_hidden_;
  ExcludeRules rules_;
  std::function<void(const std::string&, const std::string&)> on_error_;
  std::map<int, std::string> by_wd_;
  std::map<std::string, int> by_path_;
};

}  // namespace xsearch::pipeline
