// The ingest's row in `runs`, from 'running' to how it ended, on every way out of ingest(): finish()
// records 'done' or 'interrupted'; leaving without it (an exception) records 'failed'. A process killed
// outright (a second Ctrl-C, SIGKILL) cannot write anything: the next writer's Library::open marks its
// row 'interrupted'.
#pragma once

#include <string>
#include <vector>

#include "xsearch/library.hpp"

namespace xsearch::pipeline {

class RunRecord {
 public:
  RunRecord(Library& library, const std::vector<std::string>& roots, const RunSummary& summary)
      : library_(library), summary_(summary), id_(library.begin_run(roots)) {}
  RunRecord(const RunRecord&) = delete;
  RunRecord& operator=(const RunRecord&) = delete;

  void finish(const std::string& status) {
    finished_ = true;  // once: a failure to record it is not retried as 'failed'
    library_.finish_run(id_, summary_, status);
  }

  ~RunRecord() {
    if (finished_) return;
    try {
      library_.finish_run(id_, summary_, "failed");
    } catch (...) {
      // The exception on its way out says what went wrong; the next writer marks the row instead.
    }
  }

 private:
  Library& library_;
  const RunSummary& summary_;
  int64_t id_;
  bool finished_ = false;
};

}  // namespace xsearch::pipeline
