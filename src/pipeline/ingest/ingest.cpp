// xsearch ingest: walk, compare with the library (stat, then fingerprint), recognise moves, decode and
// preprocess on a worker thread while the model embeds batches on this one, commit each video in one
// transaction, sweep deleted files, rebuild the FAISS index.
#include <chrono>
#include <cstring>
#include <set>
#include <cmath>
#include <map>
#include <thread>
#include <variant>

#include "pipeline/blocking_queue.hpp"
#include "pipeline/vectors.hpp"
#include "pipeline/walk.hpp"
#include "xsearch/error.hpp"
#include "xsearch/model.hpp"
#include "xsearch/pipeline.hpp"
#include "xsearch/video.hpp"

namespace xsearch {

namespace {

using pipeline::BlockingQueue;
using pipeline::FoundFile;
using pipeline::find_videos;
using clock_type = std::chrono::steady_clock;

struct Job {
  FoundFile file;
  std::string fingerprint;
};

struct VideoOpened {
  std::size_t job;
  VideoInfo info;
  std::size_t clips;
};
struct ClipItem {
  std::size_t job, clip;
  double start, end;
  std::vector<float> pixels;  // [F, 3, S, S]
};
struct VideoFinished {
  std::size_t job;
  std::string error;
  bool not_a_video = false;
  std::string warning;
};
using Message = std::variant<VideoOpened, ClipItem, VideoFinished>;

// Decodes every job's clips in order and hands them to the consumer; never throws.
void produce(const std::vector<Job>& jobs, const IngestOptions& o, const PreprocessorConfig& pre, int num_frames,
             BlockingQueue<Message>& queue) {
  ClipWindowOptions windows;
  windows.window = o.window;
  windows.stride = o.stride > 0 ? o.stride : o.window;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    VideoFinished done{j, {}, false, {}};
    try {
      VideoReader reader(jobs[j].file.path);
      const auto clips = plan_clips(reader.info().start, reader.info().end, num_frames, windows);
      if (clips.empty()) throw Error(jobs[j].file.path + ": the video has no duration");
      if (!queue.push(VideoOpened{j, reader.info(), clips.size()})) return;
      std::vector<double> targets;
      for (const auto& c : clips) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
      std::vector<float> pixels;
      bool stopped = false;
      reader.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
        if (stopped) return;
        preprocess_frame(f, pre, pixels);
        if ((k + 1) % num_frames == 0) {
          const std::size_t c = k / num_frames;
          if (!queue.push(ClipItem{j, c, clips[c].start, clips[c].end, std::move(pixels)})) stopped = true;
          pixels.clear();
        }
      });
      if (stopped) return;
      if (reader.decode_errors() > 0)
        done.warning = jobs[j].file.path + ": " + std::to_string(reader.decode_errors()) + " damaged packets skipped";
    } catch (const NotAVideoError& e) {
      done.error = e.what();
      done.not_a_video = true;
    } catch (const std::exception& e) {
      done.error = e.what();
    }
    if (!queue.push(std::move(done))) return;
  }
  queue.close();
}

// "path: cause" -> "cause".
std::string cause_of(const std::string& message, const std::string& path) {
  const std::string prefix = path + ": ";
  return message.compare(0, prefix.size(), prefix) == 0 ? message.substr(prefix.size()) : message;
}

// What the library records of a job's file before anything is decoded.
VideoRecord record_of(const Job& job) {
  VideoRecord r;
  r.path = job.file.path;
  r.size = job.file.size;
  r.mtime_ns = job.file.mtime_ns;
  r.fingerprint = job.fingerprint;
  return r;
}

struct PendingVideo {
  VideoRecord record;
  std::size_t received = 0, embedded = 0;
  bool finished = false;
  VideoFinished end;
  std::vector<ClipData> clips;
};

}  // namespace

IngestReport ingest(const IngestOptions& o, const IngestObserver& observer) {
  const auto started = clock_type::now();
  IngestReport report;
  auto error = [&](const std::string& path, const std::string& cause) {
    if (observer.on_error) observer.on_error(path + ": " + cause);
  };
  auto warning = [&](const std::string& path, const std::string& cause) {
    if (observer.on_warning) observer.on_warning(path + ": " + cause);
  };
  if (o.roots.empty()) throw Error("ingest: no folder or file given");
  if (o.batch <= 0) throw Error("--batch must be at least 1");
  if (o.model_dir.empty()) throw Error("ingest: no model given (--model DIR, or XSEARCH_MODEL)");
  Library library = Library::open(o.db, true);
  report.db = library.path().string();

  ModelOptions mo;
  mo.device = o.device;
  mo.threads = o.threads;
  mo.parts = ModelParts::Video;
  const Model model = Model::load(o.model_dir, mo);
  const ModelIdentity identity = model_identity(o.model_dir, model.config().projection_dim, o.model_name);
  library.claim_model(identity);
  report.model = identity.name;
  const PreprocessorConfig pre = PreprocessorConfig::load(o.model_dir);
  if (!pre.do_center_crop) throw Error((o.model_dir / "preprocessor_config.json").string() + ": clips need do_center_crop (frames of one size)");
  const int num_frames = static_cast<int>(model.config().vision_config.num_frames);

  std::vector<std::string> roots;
  for (const auto& r : o.roots) roots.push_back(std::filesystem::absolute(r).lexically_normal().string());
  const int64_t run = library.begin_run(roots);
  RunSummary& summary = report.summary;

  // 1. What is there, and what changed.
  const auto found = find_videos(o.roots, o.include_hidden, {library.path(), library.index_path()}, error);
  std::vector<Job> jobs;
  std::set<std::string> seen;
  for (const auto& f : found) {
    seen.insert(f.path);
    const auto row = library.find_video(f.path);
    if (row && row->size == f.size && row->mtime_ns == f.mtime_ns) {
      ++summary.unchanged;  // indexed, or failed before and unchanged since
      continue;
    }
    std::string fp;
    try {
      fp = file_fingerprint(f.path);
    } catch (const Error&) {
      error(f.path, "cannot read");
      ++summary.failed;
      report.failures.emplace_back(f.path, "cannot read");
      continue;
    }
    if (row && row->status == "indexed" && row->fingerprint == fp) {
      library.touch_video(row->id, f.size, f.mtime_ns);  // touched, same content
      ++summary.unchanged;
      continue;
    }
    if (!row) {
      // A moved or renamed video: same content, and its old path is gone.
      bool moved = false;
      for (const auto& other : library.find_by_fingerprint(fp)) {
        int64_t size, mtime;
        if (other.path != f.path && !stat_file(other.path, size, mtime)) {
          library.move_video(other.id, f.path, f.size, f.mtime_ns);
          ++summary.moved;
          moved = true;
          break;
        }
      }
      if (moved) continue;
    }
    jobs.push_back({f, fp});
  }

  // 2. Decode on a worker, embed here, commit per video.
  BlockingQueue<Message> queue(static_cast<std::size_t>(2 * o.batch + 4));
  std::thread producer([&] { produce(jobs, o, pre, num_frames, queue); });
  std::map<std::size_t, PendingVideo> pending;
  std::vector<ClipItem> batch;
  int64_t files_done = 0, clips_done = 0, clips_known = 0, videos_opened = 0;
  auto progress = [&] {
    if (!observer.on_progress) return;
    IngestProgress p;
    p.files_done = files_done;
    p.files_total = static_cast<int64_t>(jobs.size());
    p.clips_done = clips_done;
    const int64_t unopened = p.files_total - videos_opened;
    p.clips_total = clips_known + (videos_opened > 0 ? unopened * clips_known / videos_opened : 0);
    const double secs = std::chrono::duration<double>(clock_type::now() - started).count();
    p.clips_per_second = secs > 0 ? clips_done / secs : 0;
    if (p.clips_per_second > 0 && videos_opened > 0) p.eta_seconds = (p.clips_total - clips_done) / p.clips_per_second;
    observer.on_progress(p);
  };
  auto try_commit = [&](std::size_t j) {
    auto it = pending.find(j);
    if (it == pending.end() || !it->second.finished || it->second.embedded < it->second.received) return;
    PendingVideo& v = it->second;
    const std::string& path = jobs[j].file.path;
    if (v.received > 0) {
      v.clips.resize(v.received);
      library.save_video(v.record, v.clips);
      ++summary.indexed;
      summary.clips += static_cast<int64_t>(v.received);
      if (!v.end.error.empty())
        warning(path, "indexed the first " + std::to_string(v.received) + " clips only (" + cause_of(v.end.error, path) + ")");
      if (!v.end.warning.empty()) warning(path, cause_of(v.end.warning, path));
    } else if (v.end.not_a_video) {
      ++summary.not_video;
    } else {
      const std::string cause = v.end.error.empty() ? "no clips" : cause_of(v.end.error, path);
      v.record.status = "failed";
      v.record.error = cause;
      library.save_failure(v.record);
      ++summary.failed;
      report.failures.emplace_back(path, cause);
      error(path, cause);
    }
    pending.erase(it);
    ++files_done;
    progress();
  };
  auto run_batch = [&] {
    if (batch.empty()) return;
    const auto& vc = model.config().vision_config;
    const int64_t per_clip = static_cast<int64_t>(batch[0].pixels.size());
    HostTensor pixels;
    pixels.dtype = DType::F32;
    pixels.shape = {static_cast<int64_t>(batch.size()), num_frames, 3, pre.crop_height, pre.crop_width};
    pixels.bytes.resize(batch.size() * per_clip * sizeof(float));
    for (std::size_t i = 0; i < batch.size(); ++i)
      std::memcpy(pixels.bytes.data() + i * per_clip * sizeof(float), batch[i].pixels.data(), per_clip * sizeof(float));
    const bool interpolate = pre.crop_height != vc.image_size || pre.crop_width != vc.image_size;
    const VideoFeatures features = model.video_features(pixels, o.store_prompts, interpolate);
    const auto embeds = features.embeds.to_float();
    const int64_t dim = features.embeds.shape[1];
    const auto prompts = o.store_prompts ? features.prompt_tokens.to_float() : std::vector<float>{};
    const int64_t prompt_values = o.store_prompts ? features.prompt_tokens.shape[1] * features.prompt_tokens.shape[2] : 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ClipData clip;
      clip.start = batch[i].start;
      clip.end = batch[i].end;
      clip.embedding = normalised(std::vector<float>(embeds.begin() + static_cast<std::ptrdiff_t>(i * dim),
                                                     embeds.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim)));
      if (o.store_prompts) clip.prompt_tokens = to_float16(prompts.data() + i * prompt_values, static_cast<std::size_t>(prompt_values));
      PendingVideo& v = pending[batch[i].job];
      if (v.clips.size() <= batch[i].clip) v.clips.resize(batch[i].clip + 1);
      v.clips[batch[i].clip] = std::move(clip);
      ++v.embedded;
      ++clips_done;
    }
    std::vector<std::size_t> touched;
    for (const auto& item : batch) touched.push_back(item.job);
    batch.clear();
    for (std::size_t j : touched) try_commit(j);
    progress();
  };

  std::string fatal;
  try {
    while (auto msg = queue.pop()) {
      if (auto* opened = std::get_if<VideoOpened>(&*msg)) {
        PendingVideo& v = pending[opened->job];
        v.record = record_of(jobs[opened->job]);
        v.record.duration = opened->info.duration();
        v.record.fps = opened->info.fps;
        v.record.width = opened->info.width;
        v.record.height = opened->info.height;
        clips_known += static_cast<int64_t>(opened->clips);
        ++videos_opened;
      } else if (auto* clip = std::get_if<ClipItem>(&*msg)) {
        ++pending[clip->job].received;
        batch.push_back(std::move(*clip));
        if (static_cast<int>(batch.size()) >= o.batch) run_batch();
      } else {
        auto& done = std::get<VideoFinished>(*msg);
        PendingVideo& v = pending[done.job];
        if (v.record.path.empty()) {  // it failed before it was opened
          v.record = record_of(jobs[done.job]);
          ++videos_opened;
        }
        v.finished = true;
        v.end = std::move(done);
        try_commit(v.end.job);
      }
    }
    run_batch();
  } catch (const std::exception& e) {
    fatal = e.what();
  }
  queue.close();
  producer.join();
  if (!fatal.empty()) {
    library.finish_run(run, summary, "failed");
    throw Error(fatal);
  }

  // 3. Files gone from the folders we walked.
  for (const auto& v : library.videos()) {
    if (seen.count(v.path)) continue;
    bool under = false;
    for (const auto& r : roots) under = under || path_under(v.path, r);
    int64_t size, mtime;
    if (under && !stat_file(v.path, size, mtime)) {
      library.remove_video(v.id);
      ++summary.removed;
    }
  }
  if (summary.indexed || summary.removed || summary.moved || !std::filesystem::exists(library.index_path()))
    library.rebuild_index();
  library.finish_run(run, summary, "done");
  report.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  report.clips_per_second = report.seconds > 0 ? summary.clips / report.seconds : 0;
  return report;
}

}  // namespace xsearch
