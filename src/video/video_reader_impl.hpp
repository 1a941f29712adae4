// VideoReader's state and its inner steps, shared by video_reader.cpp (opening, the passes that choose
// frames) and video_end.cpp (finding where the video ends). Nothing else includes this file.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>

#include "video/rgb_conversion.hpp"
#include "video/selective_decoding.hpp"
#include "xsearch/error.hpp"
#include "xsearch/video.hpp"

namespace xsearch {

using video_detail::av_error;
using video_detail::FramePtr;
using video_detail::new_frame;

// A decoder that keeps failing on every packet is not worth waiting for.
inline constexpr int kMaxConsecutiveErrors = 500;

struct VideoReader::Impl {
  VideoInfo info;
  std::function<bool()> interrupted;  // asked by FFmpeg at each read (interrupt_callback)
  AVFormatContext* fmt = nullptr;
  AVCodecContext* codec = nullptr;
  const AVCodec* decoder = nullptr;
  int threads = 0;
  AVPacket* packet = nullptr;
  int stream_index = -1;
  AVRational time_base{1, 1};
  double origin = 0;  // the container's start time: times are reported from it, as players show them
  bool eof_sent = false;
  bool finished = false;
  int64_t next_index = 0;  // index of the next frame out of the decoder, or -1 after a seek
  int64_t decoded = 0, converted = 0, errors = 0, probe_decoded = 0;
  double last_time = -std::numeric_limits<double>::infinity();
  double frame_step = 1.0 / 30;
  // Early ends (see read_error()): a read error that ended the current pass over the file, what the probe
  // found wrong with the file's end, the message callers see, and the end of the last good frame so far.
  std::string pass_error, probe_error, read_error;
  double good_end = -std::numeric_limits<double>::infinity();
  double good_until = 0;  // with read_error
  // Selective decoding in frames_at_times: wanted unless a caller turned it off, and only for the codecs
  // where dropping non-reference frames changes no other frame.
  video_detail::SelectiveDecoding selection;
  bool selective_wanted = true, selective_codec = false;
  bool rewind_by_byte = false;  // rewind(): a container without an index
  // Where the video ends (video_end.cpp): the container's estimate of its length (where the probe seeks
  // to), the stream's length as its header announces it (NaN when it does not), and, for a reader opened
  // with a provisional end, whether info.end still waits for a pass or a probe to confirm it, and whether
  // the last frames_at_times found it wrong (what that pass passed on was planned from a wrong end).
  double estimate = 0, announced = std::numeric_limits<double>::quiet_NaN();
  bool end_provisional = false, end_revised = false;

  // A new pass over the file: a file the probe found cut short says so from the start, whether or not
  // the pass reaches its end.
  void start_pass() {
    read_error = probe_error;
    good_until = info.end;
  }
  // The pass ran out of frames.
  void pass_exhausted() {
    const std::string why = early_end();
    if (why.empty()) return;
    read_error = why;
    good_until = std::min(info.end, good_end);
  }

  ~Impl() {
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    avformat_close_input(&fmt);
  }

  [[noreturn]] void fail(const std::string& cause) const { throw Error(info.path.string() + ": " + cause); }
  [[noreturn]] void not_a_video(const std::string& cause) const { throw NotAVideoError(info.path.string() + ": " + cause); }

  // A stream timestamp in seconds from the origin. Frames and packets both go through here, so that a
  // packet's time and its frame's time are the same double (selective decoding compares them).
  double seconds_at(int64_t ts) const { return ts * av_q2d(time_base) - origin; }

  double frame_time(const AVFrame* f) {
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) ts = f->pts;
    // Frames without timestamps follow the previous one by a nominal frame.
    double t = ts == AV_NOPTS_VALUE ? last_time + frame_step : seconds_at(ts);
    if (!std::isfinite(t)) t = 0;
    last_time = t;
    const int64_t d = duration_of(f);
    good_end = std::max(good_end, t + (d > 0 ? d * av_q2d(time_base) : frame_step));
    return t;
  }

  // The next frame in presentation order, or false at the end of the stream.
  bool next(AVFrame* out) {
    int consecutive_errors = 0;
    while (!finished) {
      const int r = avcodec_receive_frame(codec, out);
      if (r == 0) {
        ++decoded;
        if (selection.on()) {
          // Frames dropped before this one still count in its index and in where the good frames end.
          const bool damaged = out->decode_error_flags != 0 || (out->flags & AV_FRAME_FLAG_CORRUPT);
          const int64_t dropped = selection.came_out(out->pts, out->best_effort_timestamp, seconds_at(out->pts), damaged);
          if (next_index >= 0) next_index += dropped;
          good_end = std::max(good_end, selection.dropped_end());
        }
        return true;
      }
      if (r == AVERROR_EOF) {
        finished = true;
        selection.drained();
        break;
      }
      if (r != AVERROR(EAGAIN)) {
        ++errors;
        selection.failed();
        if (++consecutive_errors > kMaxConsecutiveErrors) fail("too many decoding errors (" + av_error(r) + ")");
        continue;
      }
      if (eof_sent) {
        finished = true;
        selection.drained();
        break;
      }
      const int rr = av_read_frame(fmt, packet);
      if (rr < 0) {
        // End of file, or a read error: the end of this pass (a damaged file keeps what was read before).
        if (rr != AVERROR_EOF) {
          ++errors;
          pass_error = "read error (" + av_error(rr) + ")";
        }
        avcodec_send_packet(codec, nullptr);
        eof_sent = true;
        continue;
      }
      if (packet->stream_index == stream_index) {
        // The decoder reads skip_frame at each packet: drop this one's frame if it is a non-reference
        // frame that no target can pick.
        bool droppable = false;
        if (selection.on()) {
          if (packet->pts == AV_NOPTS_VALUE)
            selection.failed();  // a frame that cannot be placed in time
          else
            droppable = selection.may_drop(seconds_at(packet->pts));
        }
        codec->skip_frame = droppable ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
        const int s = avcodec_send_packet(codec, packet);
        if (s < 0 && s != AVERROR(EAGAIN)) {
          ++errors;
          selection.failed();
          if (++consecutive_errors > kMaxConsecutiveErrors) fail("too many decoding errors (" + av_error(s) + ")");
        } else if (s >= 0 && selection.on() && packet->pts != AV_NOPTS_VALUE) {
          const double t = seconds_at(packet->pts);
          selection.sent(t, t + (packet->duration > 0 ? packet->duration * av_q2d(time_base) : frame_step), droppable);
        }
      }
      av_packet_unref(packet);
    }
    return false;
  }

  // A new decoder, as on opening. Each pass from the start (rewind()) gets one, so that it decodes as a
  // fresh decoder would, whatever was decoded before: a flush keeps FFmpeg's counts of faulty timestamps,
  // and on a damaged stream the best-effort timestamps of later frames depend on them (a pass after a probe
  // that went over the damage twice would time its frames otherwise than after one that went once).
  // The old decoder stays until the new one is open: a failure leaves a usable one behind.
  void open_decoder() {
    struct Owned {
      AVCodecContext* c;
      ~Owned() { avcodec_free_context(&c); }
    } fresh{avcodec_alloc_context3(decoder)};
    if (!fresh.c) throw std::bad_alloc();
    int r = avcodec_parameters_to_context(fresh.c, fmt->streams[stream_index]->codecpar);
    if (r < 0) fail("cannot read the " + info.codec + " stream parameters (" + av_error(r) + ")");
    fresh.c->thread_count = threads;
    fresh.c->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    r = avcodec_open2(fresh.c, decoder, nullptr);
    if (r < 0) fail("cannot open the " + info.codec + " decoder (" + av_error(r) + ")");
    std::swap(codec, fresh.c);  // the old one is freed on the way out
  }

  // After any repositioning: drop what the decoder holds; `index` is that of the next frame (-1: unknown).
  void restart_decoding(int64_t index) {
    avcodec_flush_buffers(codec);
    codec->skip_frame = AVDISCARD_DEFAULT;
    selection.reposition();
    eof_sent = false;
    finished = false;
    next_index = index;
    last_time = -std::numeric_limits<double>::infinity();
    pass_error.clear();
  }

  // After a pass that ran out of frames: why it ended early, or "" for a normal end. Early: a read error
  // ended it, the probe found the file cut short, or the frames stopped more than 2 frame durations before
  // the end the probe decoded to (damage the demuxer could not read past; the probe's seek to the end
  // jumped over it). 2 frames of slack absorb a last frame's duration guessed from the nominal rate.
  std::string early_end() const {
    if (!pass_error.empty()) return pass_error + " after " + seconds(good_end);
    if (!probe_error.empty()) return probe_error;
    if (good_end < info.end - 2 * frame_step)
      return "the video stops at " + seconds(good_end) + ", before its last frame at " + seconds(info.end) + " (damaged data)";
    return "";
  }

  static std::string seconds(double t) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", t);
    return buf;
  }

  // Repositions so that the next frames come from the last keyframe at or before `time`. False when the
  // demuxer cannot seek there: the decoder is then left as it was, and the caller decodes through.
  bool seek(double time) {
    // A time outside what a stream timestamp can hold (or not a number) is no place to seek to.
    const double units = std::floor((time + origin) / av_q2d(time_base));
    if (!(std::fabs(units) < 9.0e18)) return false;
    if (av_seek_frame(fmt, stream_index, static_cast<int64_t>(units), AVSEEK_FLAG_BACKWARD) < 0) return false;
    restart_decoding(-1);
    return true;
  }

  void rewind() {
    const int64_t start = fmt->start_time == AV_NOPTS_VALUE ? 0 : fmt->start_time;
    int r = -1;
    // MPEG-TS and MPEG-PS have no index: a seek to a time searches the file for a packet near it, and the
    // decoding that follows starts at the next keyframe, the first GOP lost (a second of frames at the
    // start of a .ts or .mts file). Their start is their first byte.
    if (rewind_by_byte) r = av_seek_frame(fmt, stream_index, 0, AVSEEK_FLAG_BYTE | AVSEEK_FLAG_BACKWARD);
    if (r < 0) r = avformat_seek_file(fmt, -1, std::numeric_limits<int64_t>::min(), start, start, 0);
    // Some demuxers only seek by stream timestamp or by bytes.
    if (r < 0) r = av_seek_frame(fmt, stream_index, 0, AVSEEK_FLAG_BACKWARD);
    if (r < 0) r = av_seek_frame(fmt, stream_index, 0, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_BYTE);
    if (r < 0) fail("cannot seek back to the start (" + av_error(r) + ")");
    open_decoder();
    restart_decoding(0);
    good_end = -std::numeric_limits<double>::infinity();
  }

  // Where the video ends (video_end.cpp). probe_end() decodes from near the end to the end and sets
  // info.end and probe_error; end_from_packets() sets them from packet timestamps alone, decoding nothing,
  // and says false where packets cannot tell (then nothing is set); confirm_end() ends a selective pass
  // that served every target by decoding on to the end, and confirms a provisional end when all of it was
  // regular and the last frame ends there; settle_end() probes a provisional end and compares.
  // The probe seeks to kProbeSeconds before the estimated end of a video longer than kProbeSeconds + 1 s
  // (probe_seeks()) and decodes through a shorter one; end_from_packets() reads from the same place, and
  // confirm_end() decodes on after the last target for no longer than the probe would decode: probe_span()
  // seconds (kProbeSeconds at least, where the demuxer's index does not say from which keyframe).
  static constexpr double kProbeSeconds = 2.0;
  bool probe_seeks() const { return estimate > kProbeSeconds + 1.0; }
  double probe_span() const;
  void probe_end();
  bool end_from_packets();
  void set_end(double last, int64_t last_duration, const std::string& read_failure);
  void confirm_end(std::size_t targets, const AVFrame* current, double current_time, AVFrame* scratch, bool exhausted);
  void settle_end();

  static int64_t duration_of(const AVFrame* f) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    return f->duration;
#else
    return f->pkt_duration;
#endif
  }

  using OnFrame = std::function<void(std::size_t, const RgbFrame&)>;
  // One pass of frames_at_times over the whole video: for each target from `delivered` on, its frame to
  // on_frame, and `delivered` past it; the targets before `delivered` were served by an earlier pass and
  // are followed without passing anything on. With `selective`, non-reference frames no target can pick
  // are dropped; false when that went irregular after a drop (then nothing is trusted past `delivered`).
  bool choose(const std::vector<double>& times, const OnFrame& on_frame, bool allow_seek, bool selective, std::size_t& delivered);

  video_detail::RgbConverter rgb;
  RgbFrame convert(const AVFrame* f, double time, int64_t index) {
    RgbFrame out = rgb.convert(f, info.width, info.height, info.rotation, info.path.string());
    out.time = time;
    out.index = index;
    ++converted;
    return out;
  }
};

}  // namespace xsearch
