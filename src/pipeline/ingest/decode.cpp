#include "pipeline/ingest/decode.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

#include "media/thumbnail.hpp"

namespace xsearch::pipeline {

namespace {

// Thrown from the frame callback to leave frames_at_times at once when the consumer has gone.
struct Stopped {};

using clock_type = std::chrono::steady_clock;

}  // namespace

bool decode_video(const std::vector<Job>& jobs, std::size_t j, std::size_t seq, const DecodeSettings& settings,
                  BlockingQueue<DecodeMessage>& queue, DecodeStats& stats, DecodeWatch& watch) {
  // Copies: once the watchdog gives the video up, this thread may wake from a stuck read after the run has
  // ended, and may then read nothing of the run's (decode_watch.hpp). The queue is reached only through
  // `watch`, and the figures are added through it at the end.
  const std::string path = jobs[j].file.path;
  const DecodeSettings s = settings;
  watch.begin(j, seq);
  const int num_frames = s.num_frames;
  const auto began = clock_type::now();
  clock_type::duration waited{};  // in push(): the model is behind, this worker is not busy
  auto push = [&](DecodeMessage message) {
    const auto t = clock_type::now();
    bool ok = false;
    watch.unless_given_up([&] { ok = queue.push(std::move(message)); });
    waited += clock_type::now() - t;
    return ok;
  };
  DecodeStats mine;
  auto account = [&](int64_t frames) {
    mine.frames_decoded += frames;
    mine.busy_seconds += std::chrono::duration<double>(clock_type::now() - began - waited).count();
  };
  auto add_figures = [&] {
    stats.frames_decoded += mine.frames_decoded;
    stats.busy_seconds += mine.busy_seconds;
  };
  VideoFinished done{j, {}, false, {}, {}, 0, false, false, seq};
  int64_t frames = 0;
  try {
    // A consumer that has gone (a stop) ends the reading at the next read, not at the video's end; so does
    // the watchdog's giving up, for a read loop that does return. Each read asked for is progress.
    VideoReader reader(
        path, s.ffmpeg_threads,
        [&queue, &watch] {
          watch.progress();
          bool closed = true;
          watch.unless_given_up([&] { closed = queue.closed(); });
          return closed;
        },
        true, /*provisional_end=*/true);
    // Its frames, opening's and settling the end's included.
    auto decoded_so_far = [&reader] { return reader.frames_decoded() + reader.probe_frames_decoded(); };
    std::size_t sent = 0;
    // Planned from the end read from packets; again, in the rare case that decoding finds another end.
    for (;;) {
      const auto clips = plan_clips(reader.info().start, reader.info().end, num_frames, s.windows);
      if (clips.empty()) throw Error(path + ": the video has no duration");
      if (!push(VideoOpened{j, reader.info(), clips.size()})) throw Stopped{};
      std::vector<double> targets;
      for (const auto& c : clips) targets.insert(targets.end(), c.target_times.begin(), c.target_times.end());
      std::vector<float> pixels;
      std::string thumbnail;
      sent = 0;
      try {
        reader.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
          watch.progress();
          if (watch.given_up()) throw Stopped{};
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
            if (!push(ClipItem{j, c, clips[c].start, clips[c].end, std::move(pixels), std::move(thumbnail)})) throw Stopped{};
            pixels.clear();
            thumbnail.clear();
            sent = c + 1;
          }
        });
      } catch (const Error&) {
        frames = decoded_so_far();
        if (!reader.end_revised()) throw;  // the clips sent are good, as the error says
        if (!push(VideoRestarted{j})) throw Stopped{};
        if (!reader.end_settled()) throw;  // the end could not be found: the video fails as at opening
        continue;
      } catch (...) {
        frames = decoded_so_far();
        throw;
      }
      frames = decoded_so_far();
      if (!reader.end_revised()) break;
      if (!push(VideoRestarted{j})) throw Stopped{};
    }
    if (!reader.read_error().empty()) {
      // The reader delivers no target past the damage; the last clip's frames are all good, but its
      // window may reach past them: cut it at the last good time.
      done.partial = reader.read_error();
      done.good_until = reader.good_until();
      if (sent == 0) throw Error(path + ": " + reader.read_error());
    }
    if (reader.decode_errors() > 0)
      done.warning = path + ": " + std::to_string(reader.decode_errors()) + " damaged packets skipped";
  } catch (const Stopped&) {
    account(frames);
    watch.finish(add_figures);
    return false;
  } catch (const NotAVideoError& e) {
    done.error = e.what();
    done.not_a_video = true;
  } catch (const std::exception& e) {
    done.error = e.what();
  }
  account(frames);
  bool pushed = false;
  watch.finish([&] {
    add_figures();
    pushed = queue.push(std::move(done));
  });
  return pushed;
}

}  // namespace xsearch::pipeline
