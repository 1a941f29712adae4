#include "pipeline/ingest/plan.hpp"

#include "pipeline/ingest/roots.hpp"
#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"

namespace xsearch::pipeline {

IngestPlan plan_ingest(Library& library, const std::vector<FoundFile>& found, const std::vector<std::string>& roots,
                       const Presence& presence, const Reporter& reporter, const std::function<bool()>& stop) {
  RunSummary& summary = reporter.summary();
  IngestPlan plan;
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
    std::string fp;
    try {
      fp = file_fingerprint(f.path);
    } catch (const Error& e) {
      reporter.failure(f.path, cause_of(e.what(), f.path));  // a read error: never a digest of part of it
      continue;
    }
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
