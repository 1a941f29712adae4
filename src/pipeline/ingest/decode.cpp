#include "pipeline/ingest/decode.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "media/thumbnail.hpp"

namespace xsearch::pipeline {

namespace {

// Thrown from the frame callback to leave frames_at_times at once when the consumer has gone.
struct Stopped {};

// Decodes job j into the queue; false when the consumer has gone.
bool decode_job(const std::vector<Job>& jobs, std::size_t j, const DecodeSettings& s, BlockingQueue<DecodeMessage>& queue) {
  const int num_frames = s.num_frames;
  {
    VideoFinished done{j, {}, false, {}, {}, 0, false, false};
    try {
      // A consumer that has gone (a stop) ends the reading at the next read, not at the video's end.
      VideoReader reader(jobs[j].file.path, 0, [&queue] { return queue.closed(); });
      const auto clips = plan_clips(reader.info().start, reader.info().end, num_frames, s.windows);
      if (clips.empty()) throw Error(jobs[j].file.path + ": the video has no duration");
      if (!queue.push(VideoOpened{j, reader.info(), clips.size()})) return false;
      std::vector<double> targets;
      for (const auto& c : clips) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
      std::vector<float> pixels;
      std::string thumbnail;
      std::size_t sent = 0;
      reader.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
        preprocess_frame(f, s.preprocessor, pixels);
        // The thumbnail comes from a frame decoded anyway: the sample nearest the clip's middle.
        if (static_cast<int>(k % num_frames) == (num_frames - 1) / 2) {
          try {
            thumbnail = media::thumbnail_jpeg(f);
          } catch (const Error&) {
            thumbnail.clear();
          }
        }
        if ((k + 1) % num_frames == 0) {
          const std::size_t c = k / num_frames;
          if (!queue.push(ClipItem{j, c, clips[c].start, clips[c].end, std::move(pixels), std::move(thumbnail)})) throw Stopped{};
          pixels.clear();
          thumbnail.clear();
          sent = c + 1;
        }
      });
      if (!reader.read_error().empty()) {
        // The reader delivers no target past the damage; the last clip's frames are all good, but its
        // window may reach past them: cut it at the last good time.
        done.partial = reader.read_error();
        done.good_until = reader.good_until();
        if (sent == 0) throw Error(jobs[j].file.path + ": " + reader.read_error());
      }
      if (reader.decode_errors() > 0)
        done.warning = jobs[j].file.path + ": " + std::to_string(reader.decode_errors()) + " damaged packets skipped";
    } catch (const Stopped&) {
      return false;
    } catch (const NotAVideoError& e) {
      done.error = e.what();
      done.not_a_video = true;
    } catch (const std::exception& e) {
      done.error = e.what();
    }
    return queue.push(std::move(done));
  }
}

// Asks for a job's claim. A failure to ask (the server unreachable for a moment) puts the job off like a
// claim held elsewhere; a server gone for good stops the run through the heartbeat (ingest.cpp).
JobClaim ask(const ClaimJob& claim, const Job& job, std::string& error) {
  try {
    error.clear();
    return claim(job);
  } catch (const std::exception& e) {
    error = e.what();
    return JobClaim::Taken;
  }
}

// Failed asks for one job before it is given up (about 10 s of retries): a refusal that lasts is about
// that file (the server will not take its row), not a passing failure.
constexpr int kMaxClaimErrors = 20;

}  // namespace

void decode_jobs(const std::vector<Job>& jobs, const DecodeSettings& s, BlockingQueue<DecodeMessage>& queue, const ClaimJob& claim) {
  std::vector<std::size_t> later;
  std::vector<int> errors(jobs.size(), 0);
  // Mine: decoded now; Done: reported as stored elsewhere; Taken: kept for later.
  auto handle = [&](std::size_t j) -> int {
    std::string error;
    const JobClaim c = claim ? ask(claim, jobs[j], error) : JobClaim::Mine;
    if (!error.empty() && ++errors[j] >= kMaxClaimErrors) {
      VideoFinished given_up{j, jobs[j].file.path + ": cannot claim the video (" + error + ")", false, {}, {}, 0, false, true};
      return queue.push(std::move(given_up)) ? 0 : -1;
    }
    if (c == JobClaim::Taken) return 1;
    if (c == JobClaim::Done) {
      VideoFinished done{j, {}, false, {}, {}, 0, true, false};
      return queue.push(std::move(done)) ? 0 : -1;
    }
    return decode_job(jobs, j, s, queue) ? 0 : -1;
  };
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const int r = handle(j);
    if (r < 0) return;
    if (r == 1) later.push_back(j);
  }
  while (!later.empty()) {
    if (!queue.push(DecoderWaiting{})) return;
    for (int tick = 0; tick < 5; ++tick) {  // half a second, a stop noticed within 0.1 s
      if (queue.closed()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::vector<std::size_t> still;
    for (const std::size_t j : later) {
      const int r = handle(j);
      if (r < 0) return;
      if (r == 1) still.push_back(j);
    }
    later.swap(still);
  }
  queue.close();
}

}  // namespace xsearch::pipeline
