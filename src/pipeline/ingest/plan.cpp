#include "pipeline/ingest/plan.hpp"

#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"

namespace xsearch::pipeline {

IngestPlan plan_ingest(Library& library, const std::vector<FoundFile>& found, const Presence& presence,
                       const Reporter& reporter) {
  RunSummary& summary = reporter.summary();
  IngestPlan plan;
  for (const auto& f : found) {
    plan.seen.insert(f.path);
    const auto row = library.find_video(f.path);
    if (row && row->status != "partial" && row->size == f.size && row->mtime_ns == f.mtime_ns) {
      ++summary.unchanged;  // indexed, or failed before and unchanged since
      continue;
    }
    std::string fp;
    try {
      fp = file_fingerprint(f.path);
    } catch (const Error&) {
      reporter.failure(f.path, "cannot read");
      continue;
    }
    if (row && row->status == "indexed" && row->fingerprint == fp) {
      library.touch_video(row->id, f.size, f.mtime_ns);  // touched, same content
      ++summary.unchanged;
      continue;
    }
    if (!row) {
      // A moved or renamed video: same content, and its old path is proven gone (a copy from a drive
      // that is offline now is a new video: the drive's own entry stays).
      bool moved = false;
      for (const auto& other : library.find_by_fingerprint(fp)) {
        std::string cause;
        if (other.path != f.path && presence.check(other.path, cause) == Presence::Verdict::Gone) {
          library.move_video(other.id, f.path, f.size, f.mtime_ns);
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
  r.fingerprint = job.fingerprint;
  return r;
}

}  // namespace xsearch::pipeline
