#include "pipeline/ingest/plan.hpp"

#include <chrono>
#include <string>

#include "pipeline/ingest/decode_watch.hpp"
#include "pipeline/ingest/roots.hpp"
#include "pipeline/ingest/stuck_reads.hpp"
#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"

namespace xsearch::pipeline {

IngestPlan plan_ingest(Library& library, const std::vector<FoundFile>& found, const std::vector<std::string>& roots,
                       const Presence& presence, const Reporter& reporter, const std::function<bool()>& stop) {
  RunSummary& summary = reporter.summary();
  IngestPlan plan;
  const std::chrono::seconds stall_limit(decode_stall_seconds());
  if (stuck_reads::full()) {
    plan.stuck = stuck_reads::full_message();  // an earlier run in this process left too many behind
    return plan;
  }
  for (const auto& f : found) {
    // Each file may cost a fingerprint (3 MB read): a stop request is honoured between files.
    if (stop && stop()) {
      plan.stopped = true;
      return plan;
    }
    plan.seen.insert(f.path);
    const auto row = library.find_video(f.path);
    if (row && row->status != "partial" && row->size == f.size && row->mtime_ns == f.mtime_ns) {
      // Indexed, or failed before and unchanged since. The device its name lives on is kept up to date
      // (rows older than schema 3 have none; a drive may be renumbered).
      if (row->dev != f.dev) library.touch_video(row->id, f.size, f.mtime_ns, f.dev);
      // A failure stays a failure: not counted among the unchanged videos, which are searchable.
      if (row->status == "failed") reporter.failed_unchanged(f.path, row->error);
      else ++summary.unchanged;
      continue;
    }
    // Read on its own thread under the decode watchdog's limit: a file on a dead mount can block a read
    // for good (stuck_reads.hpp).
    const WatchedFingerprint read = watched_fingerprint(f.path, stall_limit, stop);
    if (read.outcome == WatchedFingerprint::Outcome::Stopped) {
      plan.stopped = true;
      return plan;
    }
    if (read.outcome == WatchedFingerprint::Outcome::Stalled) {
      reporter.failure(f.path, "no progress for " + std::to_string(stall_limit.count()) +
                                   " s while reading its fingerprint (a read that does not return): given up for this run");
      if (stuck_reads::full()) {
        plan.stuck = stuck_reads::full_message();
        return plan;
      }
      continue;
    }
    if (read.outcome == WatchedFingerprint::Outcome::Failed) {
      reporter.failure(f.path, cause_of(read.error, f.path));  // a read error: never a digest of part of it
      continue;
    }
    const std::string& fp = read.fingerprint;
    if (row && row->status == "indexed" && row->fingerprint == fp) {
      library.touch_video(row->id, f.size, f.mtime_ns, f.dev);  // touched, same content
      ++summary.unchanged;
      continue;
    }
    if (!row) {
      // A moved or renamed video: same content, and its old path, under this run's roots, is proven gone
      // (a copy from a drive that is offline, or from a folder this run does not walk, is a new video:
      // the other entry stays until a run over its own folder judges it).
      bool moved = false;
      for (const auto& other : library.find_by_fingerprint(fp)) {
        std::string cause;
        if (other.path == f.path || root_of(other.path, roots).empty()) continue;
        if (presence.check(other.path, cause) == Presence::Verdict::Gone) {
          library.move_video(other.id, f.path, f.size, f.mtime_ns, f.dev);
          ++summary.moved;
          moved = true;
          break;
        }
      }
      if (moved) continue;
    }
    plan.jobs.push_back({f, fp});
  }
  return plan;
}

VideoRecord record_of(const Job& job) {
  VideoRecord r;
  r.path = job.file.path;
  r.size = job.file.size;
  r.mtime_ns = job.file.mtime_ns;
  r.dev = job.file.dev;
  r.fingerprint = job.fingerprint;
  return r;
}

}  // namespace xsearch::pipeline
