// xsearch watch: keep a library current. At its start a normal ingest of the roots catches up with what
// changed while it was not running; then inotify (Linux) reports changes under the roots, and after a
// debounce each batch of them is one ingest pass over the folders and files that changed (the same
// ingest, same rules: removal only on proof, offline places kept). The library's writer lock is held only
// during a pass: a user's ingest, remove or query runs meanwhile; a pass that finds the library busy waits
// and tries again. The model is loaded by the first pass that gets the library and kept for every later
// pass while passes keep coming; once no pass has run for keep_model_seconds it is let go (its memory
// returned) and the next pass loads it again (a model changed on disk meanwhile is used then). The stages
// are in src/pipeline/watch/.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "xsearch/ingest.hpp"

namespace xsearch {

struct WatchOptions {
  // Roots (folders), library, model and the other ingest settings. `exclude`: stored by the catch-up pass.
  // stop_requested ends the watch too (polled at least every 0.1 s between passes).
  IngestOptions ingest;
  double debounce_seconds = 5;   // a pass starts once no change has come for this long
  double max_wait_seconds = 60;  // under changes that never pause, a pass starts once the oldest waited this long
  double retry_seconds = 10;     // the library busy (another writer): the next try
  double keep_model_seconds = 600;  // no pass for this long: the model is let go until the next pass
};

struct WatchPass {
  bool catch_up = false;
  std::vector<std::string> roots;  // what the pass ingested (narrowed to the changes)
  IngestReport report;
};

struct WatchObserver {
  IngestObserver ingest;                                 // each pass's messages and progress
  std::function<void(const std::string&)> on_note;       // watching N folders, the library busy, ...
  std::function<void(const WatchPass&)> on_pass;         // after every pass
};

// Runs until stop_requested returns a signal number, which it returns. Throws xsearch::Error when inotify
// cannot be set up or a pass fails for another reason than a busy library.
int watch(const WatchOptions& options, const WatchObserver& observer);

}  // namespace xsearch
