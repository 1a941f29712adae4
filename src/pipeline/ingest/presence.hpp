// What the walk proved about the disk, for the two decisions that remove or re-point a video (the sweep,
// and moves in the plan). Only the library's videos under this run's roots are judged.
//
// A video is gone only on proof: the deepest folder above it that this run listed completely (its own
// folder, or a folder above a subfolder that has disappeared) lacks the next name on its path, that
// folder is on the device the video was indexed on, and it is not empty. Everything else keeps the video:
//   offline  the place it lives is not what the library knew: a root that is missing, cannot be listed,
//            or holds none of the library's videos (by path, or by size and mtime for renamed ones); a
//            folder on another device than the video was indexed on (a drive unmounted from under its
//            mount point); an empty folder where the library had videos (an empty mount point); a
//            symlink, to the video or to a folder above it, whose target is missing;
//   unknown  a folder above it could not be listed, or its entry could not be checked (reported by the walk);
//   present  its name is there (not taken as a video this time: emptied, hidden, behind a folder symlink
//            or a hidden folder that this run did not walk).
// A device that was renumbered (the same drive under another st_dev) is recognised by a video of the
// library found unchanged (path, size, mtime) on the new device.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/ingest/walk.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

class Presence {
 public:
  // `videos`: the library's videos (those outside `roots` are never judged). `excluded`: those of them under
  // an exclusion (exclusions.hpp): not judged either, present for check() (kept, never moved away).
  Presence(const WalkResult& walk, const std::vector<std::string>& roots, const std::vector<VideoRecord>& videos,
           const std::set<std::string>& excluded = {});

  // A root or a folder (or symlink) under one whose videos are offline: nothing under it is removed.
  struct OfflinePlace {
    std::string path, cause;
    int64_t videos = 0;  // the library's videos kept there
  };
  const std::vector<OfflinePlace>& offline_places() const { return offline_; }

  enum class Verdict { Gone, Present, Unknown, Offline, OutsideRoots };
  // For a path the library holds: gone (proven), present, unknown (`cause` says why, empty when the walk
  // has reported the failure), offline, or outside this run's roots (never judged: neither moved nor removed).
  Verdict check(const std::string& path, std::string& cause) const;

 private:
  struct Judgement {
    Verdict verdict;
    std::string cause;
  };
  void judge(const WalkResult& walk, const VideoRecord& v, const std::string& root, const std::string& root_cause);
  void offline(const std::string& video, const std::string& place, const std::string& cause);

  std::vector<std::string> roots_;
  std::set<std::string> found_;
  std::set<std::string> excluded_;
  std::set<std::pair<int64_t, int64_t>> renumbered_;  // (device the library knew, device it is found on now)
  std::map<std::string, Judgement> judged_;           // the library's videos under the roots not found
  std::vector<OfflinePlace> offline_;
};

}  // namespace xsearch::pipeline
