// xsearch ingest, from folder to index row. The stages, each in its own file here:
//   1. walk.cpp    find the video files under the roots, and note what could not be seen
//      presence.cpp  which roots are offline; when a missing video is proven gone
//      plan.cpp    compare them with the library: skip unchanged files, follow moves, list the jobs
//   2. decode.cpp  on decoder threads (decoders.cpp, --decoders N): each decodes and preprocesses one
//                  whole video at a time, the videos handed out in the plan's order
//   3. embed.cpp   on this thread: the model embeds the clips in batches
//   4. commit.cpp  each video, once all its clips are embedded, is stored in one transaction, in the order
//                  the videos were handed out (a later video finished first waits for the earlier ones)
//   5. sweep.cpp   videos proven gone from the walked folders leave the library
// and finally the vector index is rebuilt from the stored embeddings. The model comes from a ModelCache
// (model_cache.hpp): a watch's passes share one, loaded once, and only by a run that has something to
// embed (a run that finds nothing new, such as a watch's catch-up, reads the model's config.json alone).
// A stop request (SIGINT, SIGTERM) is polled after the model load, at every entry of the walk and file of the plan, between messages of the
// decoder and batches of the model, and before the sweep and the index write: the run ends with what is
// committed, no sweep, no index write.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "pipeline/blocking_queue.hpp"
#include "pipeline/paths.hpp"
#include "pipeline/ingest/commit.hpp"
#include "pipeline/ingest/decode.hpp"
#include "pipeline/ingest/decode_watch.hpp"
#include "pipeline/ingest/decoders.hpp"
#include "pipeline/ingest/embed.hpp"
#include "pipeline/ingest/exclusions.hpp"
#include "pipeline/ingest/model_cache.hpp"
#include "pipeline/ingest/plan.hpp"
#include "pipeline/ingest/presence.hpp"
#include "pipeline/ingest/reporter.hpp"
#include "pipeline/ingest/roots.hpp"
#include "pipeline/ingest/shared_work.hpp"
#include "pipeline/ingest/stuck_reads.hpp"
#include "pipeline/ingest/run_record.hpp"
#include "pipeline/ingest/sweep.hpp"
#include "pipeline/ingest/walk.hpp"
#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"
#include "xsearch/ingest.hpp"
#include "xsearch/model.hpp"

namespace xsearch {

namespace {

using namespace pipeline;
using clock_type = std::chrono::steady_clock;

// Files and clips done of the (estimated) total, for the progress line.
class ProgressCounter {
 public:
  ProgressCounter(const IngestObserver& observer, int64_t files_total, clock_type::time_point started)
      : observer_(observer), files_total_(files_total), started_(started) {}

  void video_opened(std::size_t clips) {
    clips_known_ += static_cast<int64_t>(clips);
    ++videos_opened_;
  }
  void video_failed_to_open() { ++videos_opened_; }
  // Its clips were planned from a wrong end (decode.hpp): as if never opened, none of its clips embedded.
  void video_restarted(std::size_t planned, std::size_t embedded) {
    clips_known_ -= static_cast<int64_t>(planned);
    clips_done_ -= static_cast<int64_t>(embedded);
    --videos_opened_;
  }
  void clips_embedded(std::size_t n) { clips_done_ += static_cast<int64_t>(n); }
  void file_done() { ++files_done_; }

  void report() const {
    if (!observer_.on_progress) return;
    IngestProgress p;
    p.files_done = files_done_;
    p.files_total = files_total_;
    p.clips_done = clips_done_;
    // Videos not opened yet are assumed to have as many clips as the average so far.
    const int64_t unopened = p.files_total - videos_opened_;
    p.clips_total = clips_known_ + (videos_opened_ > 0 ? unopened * clips_known_ / videos_opened_ : 0);
    const double secs = std::chrono::duration<double>(clock_type::now() - started_).count();
    p.clips_per_second = secs > 0 ? clips_done_ / secs : 0;
    if (p.clips_per_second > 0 && videos_opened_ > 0) p.eta_seconds = (p.clips_total - clips_done_) / p.clips_per_second;
    observer_.on_progress(p);
  }

 private:
  const IngestObserver& observer_;
  int64_t files_total_;
  clock_type::time_point started_;
  int64_t files_done_ = 0, clips_done_ = 0, clips_known_ = 0, videos_opened_ = 0;
};

// Stores this run's --exclude patterns for each root, and returns every exclusion the library holds.
ExcludeRules remember_exclusions(Library& library, const std::vector<std::string>& roots, const std::vector<std::string>& patterns,
                                 IngestReport& report) {
  for (const auto& root : roots)
    for (const auto& p : patterns) {
      const Exclusion e{root, normalize_exclude_pattern(p)};
      if (library.add_exclusion(e)) report.exclusions_added.emplace_back(e.root, e.pattern);
    }
  return ExcludeRules(library.exclusions());
}

// The library's videos under this run's roots that an exclusion now covers: kept (an exclusion says what
// to walk, not what to delete; presence takes them as present), counted, and the way to remove them said once.
std::set<std::string> excluded_videos(const std::vector<VideoRecord>& stored, const std::vector<std::string>& roots,
                                      const ExcludeRules& rules, IngestReport& report, const IngestObserver& observer) {
  std::set<std::string> out;
  if (rules.empty()) return out;
  std::string example;
  for (const auto& v : stored) {
    if (root_of(v.path, roots).empty() || !rules.excluded(v.path)) continue;
    out.insert(v.path);
    if (report.excluded_videos++ == 0) example = v.path;
  }
  if (report.excluded_videos > 0 && observer.on_warning)
    observer.on_warning(std::to_string(report.excluded_videos) + (report.excluded_videos == 1 ? " video in the library lies" : " videos in the library lie") +
                        " under an exclusion (such as " + example +
                        "); kept and searchable: `xsearch remove PATH` removes them");
  return out;
}

}  // namespace

IngestReport ingest(const IngestOptions& o, const IngestObserver& observer) {
  ModelCache models;
  return pipeline::ingest(o, observer, models);
}

IngestReport pipeline::ingest(const IngestOptions& o, const IngestObserver& observer, ModelCache& models) {
  const auto started = clock_type::now();
  IngestReport report;
  const Reporter reporter(observer, report);
  if (o.roots.empty()) throw Error("ingest: no folder or file given");
  if (o.batch < 0) throw Error("--batch must be at least 1");
  if (o.model_dir.empty()) throw Error("ingest: no model given (--model DIR, or XSEARCH_MODEL)");
  // The settings read from the environment, each refused by name before anything is opened or written
  // (each is read again where it is used, hours later on a large library).
  (void)decode_stall_seconds();
  (void)stuck_reads::limit();
  (void)Decoders::backlog_cap();
  LibraryOpenOptions writer;
  writer.writable = writer.create = true;
  writer.wait = o.wait_for_writer;
  writer.on_wait = [&](const std::string& message) { if (observer.on_warning) observer.on_warning(message); };
  Library library = Library::open(o.db, writer);
  report.db = library.path().string();

  const std::vector<std::string> roots = normalize_roots(o.roots, o.include_hidden);
  report.roots = roots.size();
  RunRecord run(library, roots, report.summary);  // 'failed' unless finished below
  auto stop_signal = [&] { return o.stop_requested ? o.stop_requested() : 0; };
  auto stopping = [&] { return (report.interrupted = stop_signal()) != 0; };
  auto finish = [&](const char* status) {
    // A file named as a root that turned out not to be a video (by its name, probe or decoder) is a bad root.
    for (const auto& [path, cause] : report.not_videos)
      if (std::find(roots.begin(), roots.end(), path) != roots.end()) report.bad_roots.emplace_back(path, cause);
    try {
      run.finish(status);
    } catch (const std::exception& e) {
      // After a stop request a PostgreSQL server slow to answer is given up (0.5 s: a stop ends the run
      // within 2 s): the run still ends as stopped, and the next run marks its row (library.cpp).
      if (!report.interrupted) throw;
      if (observer.on_warning) observer.on_warning(std::string(e.what()) + " (the run's record is left to the next run)");
    }
    report.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    report.clips_per_second = report.seconds > 0 ? report.summary.clips / report.seconds : 0;
    return report;
  };

  // The model's shape from its config.json, before the weights load (only when there is something to embed).
  const XCLIPConfig config = load_xclip_config(o.model_dir / "config.json");
  const ModelIdentity identity = model_identity(o.model_dir, config.projection_dim, o.model_name);
  // A library that has its model is checked now (another model is refused before any work); a new one
  // takes this model once it has loaded (below), so that a broken download never becomes its model.
  const bool has_model = library.model().has_value();
  if (has_model) library.claim_model(identity);
  report.model = identity.name;
  DecodeSettings settings;
  settings.preprocessor = PreprocessorConfig::load(o.model_dir);
  if (!settings.preprocessor.do_center_crop)
    throw Error((o.model_dir / "preprocessor_config.json").string() + ": clips need do_center_crop (frames of one size)");
  settings.num_frames = static_cast<int>(config.vision_config.num_frames);
  settings.windows.window = o.window;
  settings.windows.stride = o.stride > 0 ? o.stride : o.window;
  if (o.decoders < 0) throw Error("--decoders must be at least 1 (or 0 for the automatic choice)");
  const DecoderSplit split = choose_decoders(o.decoders, std::thread::hardware_concurrency());
  settings.ffmpeg_threads = split.ffmpeg_threads;
  report.decoders = split.decoders;

  // 1. Walk, find what is offline, plan. Both loops ask for a stop request at every entry and file.
  const ExcludeRules rules = remember_exclusions(library, roots, o.exclude, report);
  // The library's own files are never walked: its database, its index and the media cache beside its base
  // (LIB.db.thumbs; for a shared library, the local cache folder's `library.thumbs`, which lies in a walked
  // folder when XDG_CACHE_HOME or HOME does).
  const WalkResult walk = find_videos(
      roots, o.include_hidden, {library.path(), library.index_path(), library.media_base()},
      [&](const std::string& path, const std::string& cause) { reporter.failure(path, cause); }, stopping, &rules);
  if (walk.stopped) return finish("interrupted");
  const std::vector<VideoRecord> stored = library.videos();
  report.excluded_entries = walk.excluded;
  const Presence presence(walk, roots, stored, excluded_videos(stored, roots, rules, report, observer));
  for (const auto& place : presence.offline_places()) {
    if (place.videos == 0) {  // nothing of it in the library: a mistyped or unreadable path, not a drive away
      reporter.failure(place.path, place.cause);
      if (std::find(roots.begin(), roots.end(), place.path) != roots.end()) report.bad_roots.emplace_back(place.path, place.cause);
      continue;
    }
    report.offline_roots.emplace_back(place.path, place.cause);
    reporter.error(place.path, "offline: " + place.cause + "; its " + std::to_string(place.videos) +
                                   (place.videos == 1 ? " video" : " videos") + " in the library " + (place.videos == 1 ? "is " : "are ") +
                                   (o.prune_offline ? "removed (--prune-offline)" : "kept"));
  }
  report.offline_pruned = o.prune_offline;
  // Files passed over by name or probe: counted and listed; one named on the command line is said, as
  // an error (the user asked for that file).
  for (const auto& [path, cause] : walk.not_videos) {
    const bool asked = std::find(roots.begin(), roots.end(), path) != roots.end();
    if (asked) reporter.error(path, cause);
    reporter.not_video(path, cause, false);
  }
  // A PostgreSQL library stores names as text, which must be UTF-8: another name is that file's failure.
  const std::vector<FoundFile> files = library.shared() ? storable_names(walk.files, reporter) : walk.files;
  const IngestPlan plan = plan_ingest(library, files, roots, presence, reporter, stopping);
  if (plan.stopped) return finish("interrupted");
  if (!plan.stuck.empty()) throw Error(plan.stuck);  // the run is recorded as failed on the way out
  const std::vector<Job>& jobs = plan.jobs;

  const Model* model = nullptr;
  if (!jobs.empty()) {
    ModelOptions mo;
    mo.device = o.device;
    mo.dtype = o.dtype;
    mo.threads = o.threads;
    mo.parts = ModelParts::Video;
    model = &models.get(o.model_dir, mo);  // a load cannot be stopped midway: polled right after
    if (stopping()) return finish("interrupted");
    if (!has_model) library.claim_model(identity);
    report.device = model->device();
    report.dtype = model->dtype();
  }
  const int batch_size = o.batch > 0 ? o.batch : (model && model->device().rfind("cuda", 0) == 0 ? 32 : 4);
  if (model) report.batch = batch_size;

  // 2-4. Decode on the decoder workers; embed and commit here. The queue bounds what is decoded and not
  // yet embedded, for all the workers together: two batches, and a clip or two per worker. Declared before
  // `work`, whose heartbeat thread closes it: on any way out, the heartbeat ends before the queue goes.
  BlockingQueue<DecodeMessage> queue(static_cast<std::size_t>(2 * batch_size + 2 * split.decoders + 2));

  // A shared library: this process is one of its workers. It claims each video before decoding it and
  // renews its claims from a heartbeat thread; a server lost for good (or that does not answer within the
  // lease) stops the run. The stop request is kept by value: the claims connection outlives this function.
  SharedWork work(library, jobs, [stop = o.stop_requested] { return stop && stop() != 0; });
  work.start([&queue] { queue.close(); });
  std::optional<Decoders> decoders;
  decoders.emplace(jobs, settings, queue, work.claimer(), split.decoders);
  std::optional<Embedder> embedder;  // a batch is never run without jobs, nor jobs without the model
  if (model) embedder.emplace(*model, settings, o.store_prompts);
  Committer committer(library, jobs, reporter);
  ProgressCounter progress(observer, static_cast<int64_t>(jobs.size()), started);
  std::vector<ClipItem> batch;
  clock_type::duration model_time{};
  int64_t model_clips = 0;
  auto commit = [&] {
    std::size_t n = committer.commit_ready();
    decoders->committed_through(committer.committed_through(), committer.held_bytes());  // held bytes move without commits too
    for (; n > 0; --n) progress.file_done();
    progress.report();
  };
  auto run_batch = [&] {
    if (batch.empty()) return;
    const auto t = clock_type::now();
    std::vector<ClipData> clips = embedder->embed(batch);
    model_time += clock_type::now() - t;
    model_clips += static_cast<int64_t>(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) committer.embedded(batch[i].job, batch[i].clip, std::move(clips[i]));
    progress.clips_embedded(batch.size());
    batch.clear();
    commit();
  };

  std::string fatal;
  try {
    std::set<std::size_t> opened_jobs;  // opened and not finished (several decoders: several at once)
    while (!report.interrupted) {
      if ((report.interrupted = stop_signal())) break;
      bool timed_out = false;
      auto message = queue.pop_for(std::chrono::milliseconds(100), timed_out);  // a tenth of the 2 s a stop may take
      if (timed_out) continue;
      if (!message) break;
      if (auto* opened = std::get_if<VideoOpened>(&*message)) {
        committer.opened(*opened);
        progress.video_opened(opened->clips);
        opened_jobs.insert(opened->job);
      } else if (auto* clip = std::get_if<ClipItem>(&*message)) {
        committer.received(*clip);
        batch.push_back(std::move(*clip));
        if (static_cast<int>(batch.size()) >= batch_size) run_batch();
      } else if (auto* restarted = std::get_if<VideoRestarted>(&*message)) {
        const std::size_t job = restarted->job;
        batch.erase(std::remove_if(batch.begin(), batch.end(), [job](const ClipItem& c) { return c.job == job; }), batch.end());
        const PendingVideo::Undone undone = committer.restarted(job);
        if (opened_jobs.erase(job) > 0) progress.video_restarted(undone.planned, undone.embedded);
      } else if (std::holds_alternative<DecoderWaiting>(*message)) {
        run_batch();  // store what is decoded before waiting on other workers' videos
      } else {
        auto& done = std::get<VideoFinished>(*message);
        const std::size_t job = done.job;
        if (opened_jobs.erase(job) == 0) progress.video_failed_to_open();
        committer.decoded(std::move(done));
        commit();
      }
    }
    if (!report.interrupted) run_batch();
  } catch (const std::exception& e) {
    // A save cut short by the stop request (its server given up 0.5 s after it) is the stop's doing: the
    // run ends as stopped, and that video is stored by the next run.
    if (!stopping()) fatal = e.what();
    else if (observer.on_warning) observer.on_warning(std::string(e.what()) + " (the video being stored is left to the next run)");
  }
  queue.close();
  decoders->join();
  const DecodeStats decoded = decoders->stats();
  const std::string decoders_error = decoders->error();
  decoders.reset();
  report.frames_decoded = decoded.frames_decoded;
  report.backlog_waits = decoded.backlog_waits;
  report.decode_seconds = decoded.busy_seconds;
  report.model_seconds = std::chrono::duration<double>(model_time).count();
  report.model_clips_per_second = report.model_seconds > 0 ? model_clips / report.model_seconds : 0;
  if (fatal.empty()) fatal = decoders_error;
  if (fatal.empty()) fatal = work.error();
  try {
    work.end(!fatal.empty() ? "failed" : report.interrupted ? "interrupted" : "done");
  } catch (const std::exception& e) {
    // The claims' server gone or not answering fails the give-back too, and the claims lapse with their
    // lease: after a failure, the run says the first one; after a stop request, it still ends as stopped.
    if (fatal.empty() && !report.interrupted && !stopping()) throw;
    if (fatal.empty() && observer.on_warning) observer.on_warning(std::string(e.what()) + " (the claims lapse with their lease)");
  }
  if (!fatal.empty()) throw Error(fatal);  // the run is recorded as failed on the way out
  // Stopped, also after the last batch: the videos in progress were never written, and nothing is swept
  // (an interrupted run removes nothing); the index catches up on the next run that writes it (queries
  // meanwhile scan the clips committed since it was built).
  if (report.interrupted || stopping()) return finish("interrupted");

  // 5. Sweep, then the vector index.
  if (!sweep_missing(library, roots, plan.seen, presence, o.prune_offline, reporter, stopping)) return finish("interrupted");
  const RunSummary& summary = report.summary;
  // (A shared library's index is each querying machine's cache, refreshed there.)
  if (!library.shared() && (summary.indexed || summary.removed || summary.moved || !std::filesystem::exists(library.index_path()))) {
    // A signal during the index write stops it too: its temporary file is removed, the committed videos stay,
    // and the next run that writes the index builds it (queries scan the clips committed since meanwhile).
    try {
      library.rebuild_index(stopping);
    } catch (const IndexWriteCancelled&) {
      return finish("interrupted");
    }
  }
  return finish("done");
}

}  // namespace xsearch
