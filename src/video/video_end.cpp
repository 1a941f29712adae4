// Where a video ends: its last frame's time plus that frame's duration (the X-CLIP frame rule plans clips
// up to there, so it must be exact). Two ways to it:
// - The probe (probe_end): seek to 2 s before the estimated end and decode to the end (selectively: only
//   the last frame matters). On a short video, or one whose seek lands past its last keyframe, this
//   decodes most of the video's reference frames, which the pass choosing its frames then decodes again.
// - From packets (end_from_packets), for a reader opened with a provisional end: read the same packets
//   without decoding them; the largest timestamp and its packet's duration give the end a probe would
//   find when each of those packets gives its frame. The pass choosing frames then decodes on past its
//   last target to the end of the file (a few frames) and confirms it (confirm_end): every frame came out
//   regular (selective_decoding.hpp 3.: each packet its frame, at its timestamp, in time order, no error,
//   no damage) and the last one ends there. Whatever that pass cannot vouch for, the probe decides after
//   all (settle_end), and a different answer marks the pass's frames as planned from a wrong end
//   (VideoReader::end_revised()): the caller plans again, as it would have from the probe's end.
#include "video/video_reader_impl.hpp"

namespace xsearch {

void VideoReader::Impl::set_end(double last, int64_t last_duration, const std::string& read_failure) {
  const double step = last_duration > 0 ? last_duration * av_q2d(time_base) : frame_step;
  info.end = last + step;
  // A file cut short: a read error ended the probe's pass, or the frames end clearly (2 frame durations,
  // see early_end()) before the video stream's duration in the header.
  probe_error.clear();
  if (!read_failure.empty()) probe_error = read_failure + " after " + seconds(info.end);
  if (probe_error.empty() && std::isfinite(announced) && announced > info.end + 2 * frame_step)
    probe_error = "the file ends at " + seconds(info.end) + ", before the " + seconds(announced) + " its header announces (cut short)";
}

void VideoReader::Impl::probe_end() {
  // On a fresh decoder, whether on opening or after a pass: FFmpeg's counts of faulty timestamps survive a
  // seek, and the best-effort timestamps of a stream with odd ones would depend on what came before.
  open_decoder();
  // Seek to 2 s before the (estimated) end and decode from the keyframe there; on a video of 3 s or less,
  // or when the seek finds nothing, decode through. Any seek target that gives frames gives the same last
  // frame (decoding starts at a keyframe at or before the end, and goes to the end); nearer the end, fewer
  // frames are decoded (2 s, plus up to a keyframe interval: a 10 s phone clip with a keyframe each second
  // decodes 2 to 3 s of it, not all).
  FramePtr frame = new_frame();
  int64_t frames_after = 0, last_duration = 0;
  double last = info.start;
  // Only the last frame matters here: the non-reference frames that a packet already sent shows are not
  // the last may be dropped (selective decoding with no targets, selective_decoding.hpp: a short video is
  // decoded through, so this is most of its probe). What comes out is checked as in frames_at_times; when
  // it cannot be vouched for, the same stretch is decoded again in full. `position` seeks or rewinds.
  static const std::vector<double> kNoTargets;
  auto probe_through = [&](const std::function<bool()>& position, bool skip_first) {
    for (const bool selective : {selective_codec && selective_wanted, false}) {
      const video_detail::SelectiveDecoding::StopAtExit stop_selection(selection);
      if (selective) selection.begin(kNoTargets);
      frames_after = 0;
      last = info.start;
      last_duration = 0;
      if (!position()) return false;
      if (skip_first) {
        next(frame.get());
        av_frame_unref(frame.get());
      }
      while (next(frame.get())) {
        last = std::max(last, frame_time(frame.get()));
        last_duration = duration_of(frame.get());
        ++frames_after;
        av_frame_unref(frame.get());
      }
      // Irregular, but nothing was dropped (packets without timestamps from the start, say): what came out
      // is a full decode's already.
      if (!selective || !selection.irregular() || !selection.droppable_sent()) return true;
    }
    return true;
  };
  // A demuxer without an index (MPEG-TS, MPEG-PS) lands on a packet near the target rather than on a
  // keyframe, and the decoder gives nothing until the next keyframe: none after the landing, no frame;
  // then further back (4, 8, 16 s...), and only then through from the start.
  for (double back = kProbeSeconds; estimate > back + 1.0 && frames_after == 0; back *= 2)
    if (!probe_through([&] { return seek(estimate - back); }, false)) break;
  if (frames_after == 0) {
    probe_through([&] { rewind(); return true; }, true);  // the first frame again, then through
    if (frames_after == 0) not_a_video("a single image, not a video");
  }
  set_end(last, last_duration, pass_error);
}

bool VideoReader::Impl::end_from_packets() {
  // The packets the probe would decode: from its first seek (the reader's own: demuxers that land between
  // keyframes still read on to the end), or from the start. Any read error, or a packet without a
  // timestamp, is for the probe to judge.
  int64_t packets = 0, last_duration = 0;
  double last = -std::numeric_limits<double>::infinity();
  auto read_to_end = [&] {
    packets = 0;
    last = -std::numeric_limits<double>::infinity();
    for (;;) {
      const int r = av_read_frame(fmt, packet);
      if (r == AVERROR_EOF) return true;
      if (r < 0) return false;
      // A packet not to be shown (an edit list's cut) or cut short (a truncated file): only decoding tells
      // which frame is last.
      const bool ok = packet->stream_index != stream_index ||
                      (packet->pts != AV_NOPTS_VALUE && !(packet->flags & (AV_PKT_FLAG_DISCARD | AV_PKT_FLAG_CORRUPT)));
      if (ok && packet->stream_index == stream_index) {
        ++packets;
        const double t = seconds_at(packet->pts);
        if (t > last) {
          last = t;
          last_duration = packet->duration;
        }
      }
      av_packet_unref(packet);
      if (!ok) return false;
    }
  };
  const bool sought = probe_seeks() && seek(estimate - kProbeSeconds);
  if (sought && !read_to_end()) return false;
  if (!sought || packets == 0) {
    rewind();
    if (!read_to_end() || packets < 2) return false;  // one frame: the probe says whether it is an image
  }
  if (!(last > info.start)) return false;
  set_end(last, last_duration, "");
  // A file whose packets stop short of what its header announces is cut short (set_end's probe_error): the
  // probe finds its end, as the last packets may be there only in part.
  return probe_error.empty();
}

void VideoReader::Impl::confirm_end(std::size_t targets, const AVFrame* current, double current_time, AVFrame* scratch, bool exhausted) {
  if (!selection.on() || selection.irregular() || !read_error.empty()) return;
  double last = current ? std::max(info.start, current_time) : info.start;
  // More than the probe would decode: the probe confirms it instead (a sparse stride or a long last window
  // leaves much of the video after the last target).
  if (!exhausted && info.end - last > probe_span()) return;
  // What the tail meets is no part of the pass: its damage is not the video's (the pass never decoded it
  // before), and an end it cannot vouch for is left to the probe.
  const int64_t errors_of_pass = errors;
  struct RestoreErrors {
    int64_t& errors;
    int64_t kept;
    ~RestoreErrors() { errors = kept; }
  } restore{errors, errors_of_pass};
  selection.serving(targets);  // none left: any non-reference frame with a later packet sent may go
  int64_t last_duration = current ? duration_of(current) : 0;
  if (!exhausted) {
    try {
      while (next(scratch)) {
        last = std::max(last, frame_time(scratch));
        last_duration = duration_of(scratch);
        av_frame_unref(scratch);
        if (selection.irregular()) return;
      }
    } catch (const Error&) {
      return;  // too many decoding errors: the probe says what that means for the video
    }
  }
  // The end of the file (not an early end: read_error stays as the pass left it, the targets all served).
  if (selection.irregular() || !pass_error.empty() || errors != errors_of_pass) return;
  const double step = last_duration > 0 ? last_duration * av_q2d(time_base) : frame_step;
  if (last + step == info.end) end_provisional = false;
}

double VideoReader::Impl::probe_span() const {
  // The probe decodes from the keyframe before 2 s ahead of the end (probe_end), all of a short video.
  if (!probe_seeks()) return std::max(kProbeSeconds, info.end - info.start);
  double span = kProbeSeconds;
  // Where the demuxer's index knows that keyframe (MP4, Matroska), from there: x264's default keyframe
  // interval is 250 frames, so the probe of a 10 s video decodes it all.
  const double units = std::floor((info.end - kProbeSeconds + origin) / av_q2d(time_base));
  if (std::fabs(units) < 9.0e18) {
    const AVIndexEntry* keyframe =
        avformat_index_get_entry_from_timestamp(fmt->streams[stream_index], static_cast<int64_t>(units), AVSEEK_FLAG_BACKWARD);
    if (keyframe) span = std::max(span, info.end - seconds_at(keyframe->timestamp));
  }
  return span;
}

void VideoReader::Impl::settle_end() {
  const double planned = info.end;
  const std::string planned_error = probe_error;
  const int64_t decoded_before = decoded, errors_before = errors;
  end_revised = true;  // until the probe says otherwise: it may throw (the file gone bad, undecodable)
  probe_end();
  end_provisional = false;
  probe_decoded += decoded - decoded_before;
  decoded = decoded_before;
  errors = errors_before;
  end_revised = info.end != planned || probe_error != planned_error;
}

}  // namespace xsearch
