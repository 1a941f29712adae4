// An ingest on a shared (PostgreSQL) library is one worker among many: it announces what it found to do,
// claims each video before decoding it (decode.hpp's ClaimJob), and renews its claims from a heartbeat
// thread, so that a worker that dies loses them after the lease ($XSEARCH_LEASE_SECONDS, else 60 s) and
// another takes its videos over. On a SQLite library all of this is absent (the writer lock makes one writer).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/ingest/decode.hpp"
#include "pipeline/ingest/plan.hpp"
#include "pipeline/ingest/reporter.hpp"
#include "xsearch/library.hpp"

namespace xsearch::pipeline {

class SharedWork {
 public:
  // Registers the worker and its planned paths (shared libraries only). `stop` (a stop request) cuts a
  // round trip to the server that waits for its answer (Library::begin_work): Ctrl-C ends a run within 2 s
  // even then.
  SharedWork(Library& library, const std::vector<Job>& jobs, std::function<bool()> stop = {});
  ~SharedWork();
  SharedWork(const SharedWork&) = delete;
  SharedWork& operator=(const SharedWork&) = delete;

  // Starts the heartbeat; `lost` runs once if the server cannot be reached for a whole lease (this
  // worker's claims are then gone: the run must stop).
  void start(std::function<void()> lost);
  // The claim to ask before decoding a job; empty on a SQLite library.
  ClaimJob claimer();
  // Why the heartbeat gave up ("" while all is well).
  std::string error() const;
  // Stops the heartbeat and records how the worker ended (its remaining claims are given back).
  void end(const std::string& status);

 private:
  Library& library_;
  const bool shared_;
  int lease_seconds_ = 60;
  std::thread heartbeat_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false, ended_ = false;
  std::string error_;
};

// The files whose names a PostgreSQL library can store (valid UTF-8); each other one is reported as a failure.
std::vector<FoundFile> storable_names(const std::vector<FoundFile>& files, const Reporter& reporter);

// The lease of a shared ingest's claims: $XSEARCH_LEASE_SECONDS (at least 2), else 60.
int lease_seconds();

}  // namespace xsearch::pipeline
