// xsearch ingest: walk folders, decode, embed and store every video in a library. Plain types only;
// progress and errors reach the caller through IngestObserver, the library itself never prints.
// The stages live in src/pipeline/ingest/ (plan, decode, embed, commit, sweep; ingest.cpp runs them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "xsearch/library.hpp"

namespace xsearch {

struct IngestOptions {
  std::vector<std::filesystem::path> roots;
  std::filesystem::path db;
  std::filesystem::path model_dir;
  std::string model_name;  // how the user named it (hub id or folder); recorded in the library
  std::string device = "auto";
  std::string dtype = "auto";  // float16 on CUDA, float32 on the CPU (ModelOptions::dtype)
  double window = 4.0;
  double stride = 0.0;  // 0: equal to the window
  // Clips per model batch; 0 picks by device: 4 on a CPU (a batch of base-patch32 takes about 1.9 s there,
  // and a stop request waits for the batch in the model), 32 on CUDA (an H200 in float16: 1,746 clips/s at
  // 8, 2,461 at 32, 2,719 at 128; 32 keeps most of the speed with a quarter of 128's memory and latency).
  int batch = 0;
  int threads = 0;
  // Decoder workers, each decoding one whole video at a time (commits stay in the plan's order); 0 picks
  // from the cores (src/pipeline/ingest/decoders.cpp, choose_decoders: half the cores, 2 to 8).
  int decoders = 0;
  bool include_hidden = false;
  // Also store each clip's prompt tokens (float16, P x D values) so that `query --rerank` can give
  // X-CLIP's exact score; base-patch32: 49 x 512 x 2 bytes = 50 KB per clip.
  bool store_prompts = false;
  // Remove the videos under roots and folders that are offline (missing, unreadable, holding none of their
  // videos, on another device, empty) instead of keeping them: for a drive that is gone for good.
  bool prune_offline = false;
  // Patterns remembered for every root of this run (`--exclude`; pipeline/ingest/exclusions.hpp): stored
  // before the walk, then every ingest or watch of the root skips what they match, with the ones stored before.
  std::vector<std::string> exclude;
  bool wait_for_writer = true;  // another xsearch writing the library: wait (on_warning says so), or fail at once
  // Polled after the model load, at every entry of the walk and file of the plan, between decoder messages
  // (0.1 s at most) and model batches, and before the sweep and the index write: a non-zero value (the
  // signal number) stops the run. What is committed stays, the video in progress is not written, nothing
  // is swept, the run is recorded as interrupted.
  std::function<int()> stop_requested;
};

struct IngestProgress {
  int64_t files_done = 0, files_total = 0;
  int64_t clips_done = 0, clips_total = 0;  // clips_total grows as videos are opened
  double clips_per_second = 0;
  double eta_seconds = -1;
};

// Messages read "path: cause".
struct IngestObserver {
  std::function<void(const std::string& message)> on_error;
  std::function<void(const std::string& message)> on_warning;
  std::function<void(const IngestProgress&)> on_progress;
};

struct IngestReport {
  RunSummary summary;
  std::vector<std::pair<std::string, std::string>> failures;  // path, cause
  double seconds = 0;
  double clips_per_second = 0;
  std::string model;
  std::string db;
  std::string device;  // where the model ran ("cpu", "cuda:0")
  std::string dtype;   // what it computed in ("float32", "float16")
  int batch = 0;       // clips per model batch, as chosen (IngestOptions::batch)
  // Where the time went, for benchmarks (scripts/bench-ingest.sh): decoder workers as chosen, frames they
  // decoded, their busy seconds added up (waits for the model left out), and the model's own seconds and
  // clips/s (the embedding calls alone).
  int decoders = 0;
  int64_t frames_decoded = 0;
  double decode_seconds = 0;
  double model_seconds = 0;
  double model_clips_per_second = 0;
  // How often a decoder waited because the videos finished behind the oldest one not yet stored held more
  // than $XSEARCH_COMMIT_BACKLOG_BYTES: a long video holding the others back.
  int64_t backlog_waits = 0;
  // Videos stored with the clips before a read or decode error (status "partial"; retried next time).
  std::vector<std::pair<std::string, std::string>> partials;  // path, cause
  // Roots, and folders under them, that were offline (path, cause), and the library's videos kept there
  // unchecked (with prune_offline: removed, counted in summary.removed).
  std::vector<std::pair<std::string, std::string>> offline_roots;
  int64_t offline_videos = 0;
  bool offline_pruned = false;  // --prune-offline: the offline places were dealt with on purpose
  int interrupted = 0;  // the signal that stopped the run; 0 when it ran to the end
  // Files passed over as not videos (path, "not a video: why"): text, audio, still images (a still GIF
  // included), empty files. Counted in summary.not_video.
  std::vector<std::pair<std::string, std::string>> not_videos;
  // Files that failed in an earlier run and have not changed since (path, the stored cause): not tried
  // again, still not searchable.
  std::vector<std::pair<std::string, std::string>> failed_unchanged;
  // Roots this run could do nothing with (path, cause): missing or unreadable while the library holds
  // nothing there (a mistyped path), or a file that is not a video. `roots` counts the roots walked.
  std::vector<std::pair<std::string, std::string>> bad_roots;
  std::size_t roots = 0;
  // Exclusions: the patterns this run added (root, pattern), the entries its walk skipped, and the library's
  // videos under the roots that lie under an exclusion (kept: `xsearch remove PATH` removes them).
  std::vector<std::pair<std::string, std::string>> exclusions_added;
  int64_t excluded_entries = 0;
  int64_t excluded_videos = 0;

  // Whether some files failed (in this run, or before and unchanged since), are partial, or some places
  // were offline and kept (the command itself succeeded).
  bool file_problems() const {
    return summary.failed > 0 || !failed_unchanged.empty() || !partials.empty() || (!offline_roots.empty() && !offline_pruned);
  }
  // Whether every root was bad: nothing was there to do, so the command failed.
  bool nothing_to_do() const { return roots > 0 && bad_roots.size() >= roots; }
};

IngestReport ingest(const IngestOptions& options, const IngestObserver& observer);

// Before anything is loaded: throws xsearch::Error ("PATH: no such file or folder") when no root can be
// read and the library at `db` holds no video under any of them (a mistyped path, not a drive away), so
// that a typo fails at once, without loading (or downloading) a model.
void check_ingest_roots(const std::vector<std::filesystem::path>& roots, const std::filesystem::path& db);

}  // namespace xsearch
