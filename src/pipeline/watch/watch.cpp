// xsearch watch (include/xsearch/watch.hpp): inotify_tree.cpp turns events into changes, pending_changes.cpp
// debounces them and narrows each pass to the changed folders and files, and the pass is xsearch::ingest
// itself, which opens the library (taking its writer lock without waiting), judges, writes and lets go.
// The model is loaded by the first pass that gets the library and kept while passes keep coming.
#include "xsearch/watch.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "pipeline/ingest/exclusions.hpp"
#include "pipeline/ingest/model_cache.hpp"
#include "pipeline/ingest/roots.hpp"
#include "pipeline/paths.hpp"
#include "pipeline/watch/inotify_tree.hpp"
#include "pipeline/watch/pending_changes.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace {

using namespace pipeline;
using Clock = std::chrono::steady_clock;

Clock::duration seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }

std::string seconds_text(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

// Hands the heap's free pages back to the system: a model's weights are freed in many pieces, and glibc
// keeps what lies below its top unless asked.
void release_free_memory() {
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}

// The library's videos and exclusions as they are now, read without the writer lock; a library that does
// not exist yet (or cannot be read now) holds nothing, and the pass itself says why.
struct LibraryView {
  std::vector<VideoRecord> videos;
  std::vector<Exclusion> exclusions;
};

LibraryView read_library(const std::filesystem::path& db) {
  LibraryView view;
  try {
    const Library library = Library::open(db, false);
    view.videos = library.videos();
    view.exclusions = library.exclusions();
  } catch (const Error&) {
  }
  return view;
}

}  // namespace

int watch(const WatchOptions& o, const WatchObserver& observer) {
  if (o.ingest.roots.empty()) throw Error("watch: no folder given");
  if (!(o.debounce_seconds >= 0) || !(o.max_wait_seconds >= o.debounce_seconds) || !(o.retry_seconds > 0))
    throw Error("watch: the debounce, the longest wait and the retry must be 0 <= debounce <= max wait, retry > 0");
  if (!(o.keep_model_seconds >= 0)) throw Error("watch: the time the model is kept must be 0 or more seconds");
  auto stop = [&] { return o.ingest.stop_requested ? o.ingest.stop_requested() : 0; };
  auto note = [&](const std::string& m) { if (observer.on_note) observer.on_note(m); };
  const std::vector<std::string> roots = normalize_roots(o.ingest.roots, o.ingest.include_hidden);

  // The watches come first, so that nothing changed during the catch-up is missed; the exclusions they
  // skip are the library's and this run's new ones (stored by the catch-up).
  std::vector<Exclusion> exclusions = read_library(o.ingest.db).exclusions;
  for (const auto& root : roots)
    for (const auto& p : o.ingest.exclude) exclusions.push_back({root, normalize_exclude_pattern(p)});
  InotifyTree tree(o.ingest.include_hidden, ExcludeRules(exclusions), [&](const std::string& path, const std::string& cause) {
    if (observer.ingest.on_warning) observer.ingest.on_warning(path + ": " + cause);
  });
  for (const auto& r : roots) tree.add_tree(r);
  note("watching " + std::to_string(tree.watched()) + " folders under " + std::to_string(roots.size()) + (roots.size() == 1 ? " root" : " roots"));

  // One pass: an ingest of `pass_roots`. False when the library was busy (nothing done; try again later).
  std::optional<Clock::time_point> busy_until;
  ModelCache models;
  Clock::time_point last_pass = Clock::now();
  auto run_pass = [&](const std::vector<std::string>& pass_roots, bool catch_up) {
    IngestOptions io = o.ingest;
    io.roots.assign(pass_roots.begin(), pass_roots.end());
    io.wait_for_writer = false;
    if (!catch_up) io.exclude.clear();
    WatchPass pass;
    pass.catch_up = catch_up;
    pass.roots = pass_roots;
    try {
      const int loads = models.loads();
      pass.report = pipeline::ingest(io, observer.ingest, models);
      if (models.loads() != loads) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f", models.load_seconds());
        note(std::string("loaded the model in ") + secs + " s; the next passes reuse it until " + seconds_text(o.keep_model_seconds) +
             " s pass without one");
      }
    } catch (const LibraryBusy& e) {
      if (!busy_until) note(std::string(e.what()) + " (watch tries again every " + std::to_string(static_cast<int>(o.retry_seconds)) + " s)");
      busy_until = Clock::now() + seconds(o.retry_seconds);
      return false;
    }
    if (busy_until) note("the library is free again");
    busy_until.reset();
    last_pass = Clock::now();
    tree.set_rules(ExcludeRules(read_library(o.ingest.db).exclusions));
    if (observer.on_pass) observer.on_pass(pass);
    return true;
  };

  bool catch_up_done = run_pass(roots, true);
  PendingChanges pending(seconds(o.debounce_seconds), seconds(o.max_wait_seconds));
  std::vector<WatchChange> changes;
  while (true) {
    if (const int sig = stop()) return sig;
    changes.clear();
    tree.read(100, changes);  // a tenth of the 2 s a stop may take
    const auto now = Clock::now();
    for (const auto& c : changes) {
      if (c.kind == WatchChange::Kind::Overflow) {
        note("inotify's queue overflowed (events lost): rescanning every root");
        for (const auto& r : roots) tree.add_tree(r);
      }
      pending.add(c, now);
    }
    // A model held through a long quiet spell is memory the user's other programs could use (about
    // 1.2 GB for base-patch32 on a CPU): it goes, and the next pass pays one load again.
    if (models.holds() && std::chrono::duration<double>(now - last_pass).count() >= o.keep_model_seconds) {
      models.release();
      release_free_memory();
      note("let go of the model after " + seconds_text(o.keep_model_seconds) + " s without a pass; the next pass loads it again");
    }
    if (busy_until && now < *busy_until) continue;
    if (const int sig = stop()) return sig;
    if (!catch_up_done) {
      catch_up_done = run_pass(roots, true);
    } else if (pending.due(now)) {
      const std::vector<WatchChange> taken = pending.take(now);
      const LibraryView library = read_library(o.ingest.db);
      const auto holds = [&](const std::string& path) {
        for (const auto& v : library.videos)
          if (path_under(v.path, path)) return true;
        return false;
      };
      const std::vector<std::string> pass_roots_now = pass_roots(taken, roots, holds);
      if (!pass_roots_now.empty() && !run_pass(pass_roots_now, false)) pending.restore(taken, now);
    }
    if (const int sig = stop()) return sig;
  }
}

}  // namespace xsearch
