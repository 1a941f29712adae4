// Stage 1b of ingest, plan: compare what the walk found with the library. Unchanged files are skipped
// (size and mtime, then the content fingerprint), moved or renamed ones keep their clips, the rest become
// jobs for the decoder. Videos stored as partial (a read error
// ended them early) are decoded again on every run, changed or not: a download may have finished, a
// flaky disk may read this time.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/ingest/presence.hpp"
#include "pipeline/ingest/reporter.hpp"
#include "pipeline/ingest/walk.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

// A file to decode and embed.
struct Job {
  FoundFile file;
  std::string fingerprint;
};

struct IngestPlan {
  std::vector<Job> jobs;
  std::set<std::string> seen;  // every path the walk found, for the sweep
  bool stopped = false;        // `stop` said so: the plan is incomplete (the cheap changes made stay)
  // Too many fingerprint reads stuck (stuck_reads.hpp): the plan is incomplete, and this says why.
  std::string stuck;
};

// Writes the cheap changes at once (touched files, moves) and counts them in the summary; a file that
// failed before and is unchanged is reported again (Reporter::failed_unchanged), not counted as unchanged. A video counts as
// moved only when its old path lies under `roots` and is proven gone (`presence`); a partial video is
// retried on every run. A file whose fingerprint cannot be read is a failure of that file, and so is one whose read
// does not return within $XSEARCH_DECODE_STALL_SECONDS (stuck_reads.hpp). `stop` (may be
// empty) is asked before each file.
IngestPlan plan_ingest(Library& library, const std::vector<FoundFile>& found, const std::vector<std::string>& roots,
                       const Presence& presence, const Reporter& reporter, const std::function<bool()>& stop = {});

// What the library records of a job's file before anything is decoded.
VideoRecord record_of(const Job& job);

}  // namespace xsearch::pipeline
