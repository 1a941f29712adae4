#include "pipeline/ingest/decode.hpp"

#include <exception>

namespace xsearch::pipeline {

void decode_jobs(const std::vector<Job>& jobs, const DecodeSettings& s, BlockingQueue<DecodeMessage>& queue) {
  const int num_frames = s.num_frames;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    VideoFinished done{j, {}, false, {}};
    try {
      VideoReader reader(jobs[j].file.path);
      const auto clips = plan_clips(reader.info().start, reader.info().end, num_frames, s.windows);
      if (clips.empty()) throw Error(jobs[j].file.path + ": the video has no duration");
      if (!queue.push(VideoOpened{j, reader.info(), clips.size()})) return;
      std::vector<double> targets;
      for (const auto& c : clips) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
      std::vector<float> pixels;
      bool stopped = false;
      reader.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
        if (stopped) return;
        preprocess_frame(f, s.preprocessor, pixels);
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

}  // namespace xsearch::pipeline
