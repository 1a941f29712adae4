// Stage 2 of ingest, decode: on decoder worker threads (decoders.hpp runs them), open a job's video, plan
// its clip windows, decode and preprocess the frames of each clip, and send what happens to the embedding
// side as messages, in order per video: VideoOpened, then its ClipItems, then VideoFinished (which alone is
// sent for a file that fails to open). Several workers' messages interleave in the one queue. A video is
// opened with a provisional end (VideoReader, video_end.cpp); in the rare case that its decoding finds
// another end, VideoRestarted withdraws what was sent of it, and it starts again from VideoOpened (or ends
// with a VideoFinished that says why it could not be opened).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "pipeline/blocking_queue.hpp"
#include "pipeline/ingest/decode_watch.hpp"
#include "pipeline/ingest/plan.hpp"
#include "xsearch/video.hpp"

namespace xsearch::pipeline {

struct VideoOpened {
  std::size_t job;
  VideoInfo info;
  std::size_t clips;  // planned
};
struct ClipItem {
  std::size_t job, clip;
  double start, end;
  std::vector<float> pixels;  // [F, 3, S, S], preprocessed
  // A JPEG of the clip's sampled frame nearest its middle (media/thumbnail.hpp), for the media cache;
  // empty when it could not be made (then serve makes one when asked).
  std::string thumbnail;
};
// Everything sent of the video so far is void: its clips were planned from a wrong end.
struct VideoRestarted {
  std::size_t job;
};
struct VideoFinished {
  std::size_t job;
  std::string error;  // "path: cause" when decoding failed (the clips sent before it are good)
  bool not_a_video = false;
  std::string warning;
  // Why the video ended early (a read or decode error, a file cut short): the clips sent stop at the last
  // good frame; empty when the whole video was read.
  std::string partial;
  double good_until = 0;  // with `partial`: the time up to which frames are good
  // Shared library: another worker stored this very file meanwhile; nothing was decoded.
  bool elsewhere = false;
  // Shared library: the claim could not be asked for (the server refused it again and again): `error` says
  // why; nothing is written, the file stays to do for a later run.
  bool unclaimed = false;
  // The place of this video in the order the decoders took their videos (0, 1, 2, ...): the order of the
  // commits (commit.hpp), whichever worker finishes first. The plan's order, but for a shared library's
  // videos put off because another worker held them.
  std::size_t seq = 0;
  // The decode watchdog gave the video up (decode_watch.hpp): `error` says so; nothing of it is written,
  // its claim is given back, and a later run tries it again.
  bool stalled = false;
};
// The decoder has nothing to send for now: it waits for videos other workers hold (a shared library). The
// clips waiting for a full batch must be embedded and their videos stored now: the other workers may be
// waiting for this one's videos in the same way.
struct DecoderWaiting {};
using DecodeMessage = std::variant<VideoOpened, ClipItem, VideoRestarted, VideoFinished, DecoderWaiting>;

struct DecodeSettings {
  ClipWindowOptions windows;
  PreprocessorConfig preprocessor;
  int num_frames = 8;
  int ffmpeg_threads = 0;  // each decoder's FFmpeg threads (VideoReader; 0: FFmpeg's choice)
};

// What one decoder did, for the run's figures (IngestReport): added up over the workers at the end.
struct DecodeStats {
  int64_t frames_decoded = 0;  // frames the decoder decoded, those that found where a video ends included
  double busy_seconds = 0;     // opening, decoding and preprocessing; waits for room in the queue left out
  int64_t backlog_waits = 0;   // times it waited for the videos finished behind the oldest to be stored (the cap)
};

// Whether this process should decode a job now (a shared library's claims; always Mine otherwise).
enum class JobClaim { Mine, Taken, Done };
using ClaimJob = std::function<JobClaim(const Job&)>;

// Decodes job `j`'s clips into `queue`, ending with its VideoFinished (numbered `seq`); false when the
// consumer has gone (the queue closed), even in the middle of the video, or when the watchdog gave the
// video up (then `watch.given_up()`, and nothing but `watch` may be touched any more: decode_watch.hpp).
// Never throws: a video's failure travels in its VideoFinished. Adds its work to `stats`.
bool decode_video(const std::vector<Job>& jobs, std::size_t j, std::size_t seq, const DecodeSettings& settings,
                  BlockingQueue<DecodeMessage>& queue, DecodeStats& stats, DecodeWatch& watch);

}  // namespace xsearch::pipeline
