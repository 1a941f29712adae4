// `xsearch watch`: the changes seen and not yet ingested, with the debounce, and the narrowed roots an
// ingest pass gets for them. A pass starts once nothing has happened for the debounce (a burst of copies
// is one pass), or, under a stream of events that never pauses, once the oldest change has waited
// `max_wait`; it then takes the paths quiet for the debounce (a file still being written waits).
//
// The roots of a pass, so that the ingest rules judge each change as a full ingest would:
//   a file written or moved in      its folder (a rename within it is then a move: the old name is
//                                   proven gone by that folder's listing);
//   a file deleted or moved out     the file itself, when the library holds it (a missing file root is
//                                   judged gone by the listing of its folder), else nothing;
//   a folder created or moved in    the folder;
//   a folder deleted or moved out,  the watch root that held it, when the library holds videos under
//   a watched folder gone           it (the proof needs the listing above the folder);
//   an overflow                     every watch root.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pipeline/watch/inotify_tree.hpp"

namespace xsearch::pipeline {

class PendingChanges {
 public:
  using Clock = std::chrono::steady_clock;
  PendingChanges(Clock::duration debounce, Clock::duration max_wait) : debounce_(debounce), max_wait_(max_wait) {}

  void add(const WatchChange& change, Clock::time_point now);
  bool empty() const { return changes_.empty(); }
  // Whether a pass should start now.
  bool due(Clock::time_point now) const;
  // The changes quiet for the debounce, taken out (the others stay).
  std::vector<WatchChange> take(Clock::time_point now);
  // Puts changes back (a pass that could not run: the library busy); they count as seen at `now`.
  void restore(const std::vector<WatchChange>& changes, Clock::time_point now);

 private:
  struct Entry {
    WatchChange change;
    Clock::time_point first, last;
  };
  Clock::duration debounce_, max_wait_;
  std::map<std::string, Entry> changes_;  // by path (an overflow under "")
  Clock::time_point last_event_{};
};

// The roots for an ingest pass over `changes` under `watch_roots`. `holds(path)`: whether the library holds
// a video at `path` or under it. Paths outside every watch root are dropped.
std::vector<std::string> pass_roots(const std::vector<WatchChange>& changes, const std::vector<std::string>& watch_roots,
                                    const std::function<bool(const std::string&)>& holds);

}  // namespace xsearch::pipeline
