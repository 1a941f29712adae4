// VideoReader on FFmpeg's libraries: probing (first and last frame times, rotation, aspect), decoding in
// presentation order with frame threading, seeking over long gaps, dropping the non-reference frames no
// target can pick (selective_decoding.hpp), and RGB conversion of chosen frames only (rgb_conversion.hpp).
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
}

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "video/rgb_conversion.hpp"
#include "video/selective_decoding.hpp"
#include "xsearch/error.hpp"
#include "xsearch/video.hpp"

namespace xsearch {

using video_detail::av_error;
using video_detail::FramePtr;
using video_detail::new_frame;

namespace {

// A decoder that keeps failing on every packet is not worth waiting for.
constexpr int kMaxConsecutiveErrors = 500;

}  // namespace

struct VideoReader::Impl {
  VideoInfo info;
  std::function<bool()> interrupted;  // asked by FFmpeg at each read (interrupt_callback)
  AVFormatContext* fmt = nullptr;
  AVCodecContext* codec = nullptr;
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
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    const int64_t d = f->duration;
#else
    const int64_t d = f->pkt_duration;
#endif
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
    restart_decoding(0);
    good_end = -std::numeric_limits<double>::infinity();
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

VideoReader::VideoReader(const std::filesystem::path& path, int threads, std::function<bool()> interrupted, bool selective)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.info.path = path;
  m.selective_wanted = selective;
  m.interrupted = std::move(interrupted);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) m.fail("no such file");
  if (std::filesystem::is_directory(path, ec)) m.fail("is a directory");
  if (std::filesystem::file_size(path, ec) == 0) m.fail("empty file");
  av_log_set_level(AV_LOG_QUIET);
  m.fmt = avformat_alloc_context();
  if (!m.fmt) throw std::bad_alloc();
  if (m.interrupted)
    m.fmt->interrupt_callback = {[](void* impl) { return static_cast<Impl*>(impl)->interrupted() ? 1 : 0; }, &m};
  // Local files only: a path from a library (a shared one is written by other machines) must never make
  // FFmpeg fetch a URL or read through concat:/subfile: into other files.
  AVDictionary* options = nullptr;
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  int r = avformat_open_input(&m.fmt, path.c_str(), nullptr, &options);  // frees the context on failure
  av_dict_free(&options);
  if (r < 0) m.fail("not a readable video (" + av_error(r) + ")");
  r = avformat_find_stream_info(m.fmt, nullptr);
  if (r < 0) m.fail("cannot read stream information (" + av_error(r) + ")");
  const std::string demuxer = m.fmt->iformat->name;
  m.info.container = demuxer;
  m.rewind_by_byte = demuxer == "mpegts" || demuxer == "mpeg";
  for (unsigned i = 0; i < m.fmt->nb_streams; ++i) {
    const AVStream* s = m.fmt->streams[i];
    if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      m.stream_index = static_cast<int>(i);
      break;
    }
  }
  if (m.stream_index < 0) m.not_a_video("no video stream");
  if (demuxer == "image2" || demuxer.find("_pipe") != std::string::npos) m.not_a_video("a single image, not a video");
  AVStream* stream = m.fmt->streams[m.stream_index];
  m.time_base = stream->time_base;
  if (m.time_base.num <= 0 || m.time_base.den <= 0) m.fail("video stream without a valid time base");
  m.origin = m.fmt->start_time == AV_NOPTS_VALUE ? 0.0 : m.fmt->start_time / static_cast<double>(AV_TIME_BASE);
  const AVCodec* decoder = avcodec_find_decoder(stream->codecpar->codec_id);
  if (!decoder) m.fail("no decoder for codec \"" + std::string(avcodec_get_name(stream->codecpar->codec_id)) + "\"");
  m.info.codec = decoder->name;
  m.codec = avcodec_alloc_context3(decoder);
  if (!m.codec) throw std::bad_alloc();
  r = avcodec_parameters_to_context(m.codec, stream->codecpar);
  if (r < 0) m.fail("cannot read the " + m.info.codec + " stream parameters (" + av_error(r) + ")");
  m.codec->thread_count = threads;  // 0: as many as FFmpeg sees fit
  m.codec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  r = avcodec_open2(m.codec, decoder, nullptr);
  if (r < 0) m.fail("cannot open the " + m.info.codec + " decoder (" + av_error(r) + ")");
  m.packet = av_packet_alloc();
  if (!m.packet) throw std::bad_alloc();
  m.selective_codec = video_detail::SelectiveDecoding::codec_allows(*stream->codecpar);

  m.info.coded_width = m.codec->width;
  m.info.coded_height = m.codec->height;
  if (m.info.coded_width <= 0 || m.info.coded_height <= 0) m.fail("video stream without a frame size");
  if (av_image_check_size(m.info.coded_width, m.info.coded_height, 0, nullptr) < 0)
    m.fail("implausible frame size " + std::to_string(m.info.coded_width) + "x" + std::to_string(m.info.coded_height));
  AVRational sar = av_guess_sample_aspect_ratio(m.fmt, stream, nullptr);
  if (sar.num <= 0 || sar.den <= 0) sar = {1, 1};
  av_reduce(&m.info.sar_num, &m.info.sar_den, sar.num, sar.den, 1 << 20);
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 29, 100)
  // FFmpeg 6.1 keeps a stream's side data in codecpar (av_stream_get_side_data is deprecated in 7.1).
  const AVPacketSideData* side = av_packet_side_data_get(stream->codecpar->coded_side_data, stream->codecpar->nb_coded_side_data,
                                                         AV_PKT_DATA_DISPLAYMATRIX);
  const uint8_t* matrix = side && side->size >= 9 * sizeof(int32_t) ? side->data : nullptr;
#else
  const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
#endif
  if (matrix) {
    const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
    if (std::isfinite(ccw)) {
      int cw = static_cast<int>(std::lround(-ccw / 90.0)) * 90 % 360;
      if (cw < 0) cw += 360;
      m.info.rotation = cw;
    }
  }
  // Shown size: the sample aspect ratio stretches the width; then the rotation may swap the sides.
  int shown_w = m.info.coded_width;
  if (m.info.sar_num != m.info.sar_den) {
    // A crafted aspect ratio may stretch a frame past what an int or memory holds: refuse it, by name.
    const double stretched = std::round(static_cast<double>(shown_w) * m.info.sar_num / m.info.sar_den);
    if (!(stretched < 65536) || av_image_check_size(static_cast<int>(std::max(2.0, stretched)), m.info.coded_height, 0, nullptr) < 0)
      m.fail("implausible sample aspect ratio " + std::to_string(m.info.sar_num) + ":" + std::to_string(m.info.sar_den) +
             " for a " + std::to_string(m.info.coded_width) + "x" + std::to_string(m.info.coded_height) + " frame");
    shown_w = std::max(2, static_cast<int>(stretched));
  }
  const bool swap = m.info.rotation % 180 != 0;
  m.info.width = swap ? m.info.coded_height : shown_w;
  m.info.height = swap ? shown_w : m.info.coded_height;

  const AVRational rate = av_guess_frame_rate(m.fmt, stream, nullptr);
  m.info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  if (m.info.fps > 0) m.frame_step = 1.0 / m.info.fps;
  if (stream->avg_frame_rate.num > 0 && stream->r_frame_rate.num > 0)
    m.info.variable_frame_rate = std::fabs(av_q2d(stream->avg_frame_rate) - av_q2d(stream->r_frame_rate)) > 0.01 * av_q2d(stream->r_frame_rate);

  // First frame.
  FramePtr frame = new_frame();
  if (!m.next(frame.get())) m.fail("no decodable video frames");
  m.info.start = m.frame_time(frame.get());
  av_frame_unref(frame.get());
  // Last frame: seek to 2 s before the (estimated) end and decode from the keyframe there; on a video of
  // 3 s or less, or when the seek finds nothing, decode through. Its time plus its duration is where the
  // video ends. Any seek target that gives frames gives the same last frame (decoding starts at a keyframe
  // at or before the end, and goes to the end); nearer the end, fewer frames are decoded (2 s, plus up to
  // a keyframe interval: a 10 s phone clip with a keyframe each second decodes 2 to 3 s of it, not all).
  const double estimate = stream->duration != AV_NOPTS_VALUE ? stream->duration * av_q2d(stream->time_base)
                          : m.fmt->duration != AV_NOPTS_VALUE ? m.fmt->duration / static_cast<double>(AV_TIME_BASE)
                                                                : 0.0;
  auto decode_to_end = [&](int64_t& frames, double& last, int64_t& last_duration) {
    while (m.next(frame.get())) {
      last = std::max(last, m.frame_time(frame.get()));
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
      last_duration = frame->duration;
#else
      last_duration = frame->pkt_duration;
#endif
      ++frames;
      av_frame_unref(frame.get());
    }
  };
  int64_t frames_after = 0, last_duration = 0;
  double last = m.info.start;
  // Only the last frame matters here: the non-reference frames that a packet already sent shows are not
  // the last may be dropped (selective decoding with no targets, selective_decoding.hpp: a short video is
  // decoded through, so this is most of its probe). What comes out is checked as in frames_at_times; when
  // it cannot be vouched for, the same stretch is decoded again in full. `position` seeks or rewinds.
  static const std::vector<double> kNoTargets;
  auto probe_through = [&](const std::function<bool()>& position, bool skip_first) {
    for (const bool selective : {m.selective_codec && m.selective_wanted, false}) {
      const video_detail::SelectiveDecoding::StopAtExit stop_selection(m.selection);
      if (selective) m.selection.begin(kNoTargets);
      frames_after = 0;
      last = m.info.start;
      last_duration = 0;
      if (!position()) return false;
      if (skip_first) {
        m.next(frame.get());
        av_frame_unref(frame.get());
      }
      decode_to_end(frames_after, last, last_duration);
      // Irregular, but nothing was dropped (packets without timestamps from the start, say): what came out
      // is a full decode's already.
      if (!selective || !m.selection.irregular() || !m.selection.droppable_sent()) return true;
    }
    return true;
  };
  // A demuxer without an index (MPEG-TS, MPEG-PS) lands on a packet near the target rather than on a
  // keyframe, and the decoder gives nothing until the next keyframe: none after the landing, no frame;
  // then further back (4, 8, 16 s...), and only then through from the start.
  for (double back = 2.0; estimate > back + 1.0 && frames_after == 0; back *= 2)
    if (!probe_through([&] { return m.seek(estimate - back); }, false)) break;
  if (frames_after == 0) {
    probe_through([&] { m.rewind(); return true; }, true);  // the first frame again, then through
    if (frames_after == 0) m.not_a_video("a single image, not a video");
  }
  const double step = last_duration > 0 ? last_duration * av_q2d(m.time_base) : m.frame_step;
  m.info.end = last + step;
  // A file cut short: a read error ended the probe's pass, or the frames end clearly (2 frame durations,
  // see early_end()) before the video stream's duration in the header (the format's only when the video is
  // its only stream: an audio track may legitimately run longer).
  if (!m.pass_error.empty()) m.probe_error = m.pass_error + " after " + Impl::seconds(m.info.end);
  double announced = std::numeric_limits<double>::quiet_NaN();
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
    announced = (stream->start_time == AV_NOPTS_VALUE ? 0 : stream->start_time) * av_q2d(m.time_base) + stream->duration * av_q2d(m.time_base) - m.origin;
  else if (m.fmt->nb_streams == 1 && m.fmt->duration != AV_NOPTS_VALUE && m.fmt->duration > 0)
    announced = m.fmt->duration / static_cast<double>(AV_TIME_BASE);
  if (m.probe_error.empty() && std::isfinite(announced) && announced > m.info.end + 2 * m.frame_step)
    m.probe_error = "the file ends at " + Impl::seconds(m.info.end) + ", before the " + Impl::seconds(announced) +
                    " its header announces (cut short)";
  m.probe_decoded = m.decoded;
  m.decoded = 0;
  m.errors = 0;
  m.rewind();
  m.start_pass();
}

VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
int64_t VideoReader::frames_decoded() const { return impl_->decoded; }
int64_t VideoReader::frames_converted() const { return impl_->converted; }
int64_t VideoReader::probe_frames_decoded() const { return impl_->probe_decoded; }
int64_t VideoReader::decode_errors() const { return impl_->errors; }
const std::string& VideoReader::read_error() const { return impl_->read_error; }
double VideoReader::good_until() const { return impl_->read_error.empty() ? impl_->info.end : impl_->good_until; }

bool VideoReader::Impl::choose(const std::vector<double>& times, const OnFrame& on_frame, bool allow_seek, bool selective,
                               std::size_t& delivered) {
  Impl& m = *this;
  const std::size_t replayed = delivered;  // served by an earlier pass: followed, not passed on again
  const video_detail::SelectiveDecoding::StopAtExit stop_selection(selection);
  if (selective) selection.begin(times);
  m.rewind();
  m.start_pass();
  // After each frame asked for: true when the pass must start again in full (selective_decoding.hpp, 3.).
  auto give_up = [&] {
    if (!selection.irregular()) return false;
    if (selection.droppable_sent()) return true;
    selection.stop();  // nothing dropped since the last seek or rewind: the decoder is a full decode's
    return false;
  };
  FramePtr current = new_frame(), candidate = new_frame();
  bool have_current = false;
  double current_time = -std::numeric_limits<double>::infinity();
  int64_t current_index = -1;
  bool exhausted = false;
  // Decoding through is cheaper than a seek unless the gap spans several keyframe intervals; without
  // knowing the GOP, 8 seconds is a safe threshold (typical GOPs are 0.5 to 5 s).
  constexpr double kSeekGap = 8.0;
  std::size_t k = 0;
  RgbFrame converted;
  double converted_for = std::numeric_limits<double>::quiet_NaN();
  for (; k < times.size(); ++k) {
    const double target = times[k];
    selection.serving(k);
    if (allow_seek && !exhausted && (!have_current ? target - m.info.start : target - current_time) > kSeekGap) {
      // Seek, and make sure the first frame after it is not past the target (else seek further back).
      for (double back = 1.0;; back *= 2) {
        if (!m.seek(target - back)) {
          // The demuxer cannot seek here: decode through from the start instead, for this and later targets
          // (the position after a failed seek is not to be trusted).
          allow_seek = false;
          m.rewind();
          have_current = false;
          current_time = -std::numeric_limits<double>::infinity();
          break;
        }
        const bool got = m.next(candidate.get());
        if (give_up()) return false;
        if (!got) {
          exhausted = true;
          m.pass_exhausted();
          break;
        }
        const double t = m.frame_time(candidate.get());
        if (t <= target + 1e-9 || target - back < m.info.start - 1.0) {
          av_frame_unref(current.get());
          av_frame_move_ref(current.get(), candidate.get());
          current_time = t;
          current_index = -1;
          have_current = true;
          break;
        }
        av_frame_unref(candidate.get());
      }
    }
    // A tolerance of 1e-9 s absorbs rounding in pts * time_base (a frame at exactly the target counts).
    while (!exhausted && (!have_current || current_time < target - 1e-9)) {
      const bool got = m.next(candidate.get());
      if (give_up()) return false;
      if (!got) {
        exhausted = true;
        m.pass_exhausted();
        break;
      }
      const double t = m.frame_time(candidate.get());
      av_frame_unref(current.get());
      av_frame_move_ref(current.get(), candidate.get());
      current_time = t;
      current_index = m.next_index >= 0 ? m.next_index++ : -1;
      have_current = true;
    }
    // After an early end, targets past the last good frame (its time plus its duration) get nothing: never
    // a clip padded with a repeated frame. A normal end gives the last frame, as it is shown there.
    if (exhausted && !m.read_error.empty() && target >= m.good_until - 1e-9) return true;
    if (!have_current) throw Error(m.info.path.string() + ": no frame at " + std::to_string(target) + " s");
    if (k < replayed) continue;
    // The same frame may serve several targets (a short clip of a low frame rate video): convert once.
    if (!(converted_for == current_time)) {
      converted = m.convert(current.get(), current_time, current_index);
      converted_for = current_time;
    }
    on_frame(k, converted);
    delivered = k + 1;
  }
  return true;
}

void VideoReader::frames_at_times(const std::vector<double>& times, const std::function<void(std::size_t, const RgbFrame&)>& on_frame,
                                  bool allow_seek) {
  Impl& m = *impl_;
  if (!std::is_sorted(times.begin(), times.end())) throw Error("frames_at_times: times must be ascending");
  for (double t : times)
    if (!std::isfinite(t)) throw Error("frames_at_times: times must be finite");
  std::size_t delivered = 0;
  if (m.selective_wanted && m.selective_codec) {
    const int64_t errors = m.errors;
    if (m.choose(times, on_frame, allow_seek, true, delivered)) return;
    // Something came out that selective decoding cannot vouch for (damage, odd timestamps): decode again
    // in full, as before, passing on only what was not passed on yet. The damage is counted once.
    m.errors = errors;
  }
  m.choose(times, on_frame, allow_seek, false, delivered);
}

void VideoReader::set_selective_decoding(bool on) { impl_->selective_wanted = on; }

std::vector<RgbFrame> VideoReader::frames_at_indices(const std::vector<int64_t>& indices) {
  Impl& m = *impl_;
  std::vector<int64_t> wanted = indices;
  std::sort(wanted.begin(), wanted.end());
  if (!wanted.empty() && wanted.front() < 0) throw Error("frame indices must not be negative");
  m.rewind();
  m.start_pass();
  std::vector<RgbFrame> found;
  FramePtr f = new_frame();
  int64_t index = 0;
  std::size_t w = 0;
  while (w < wanted.size() && m.next(f.get())) {
    const double t = m.frame_time(f.get());
    while (w < wanted.size() && wanted[w] == index) {
      found.push_back(m.convert(f.get(), t, index));
      ++w;
    }
    av_frame_unref(f.get());
    ++index;
  }
  if (w < wanted.size()) m.pass_exhausted();
  if (w < wanted.size())
    throw Error(m.info.path.string() + ": frame " + std::to_string(wanted[w]) + " does not exist (the video has " +
                std::to_string(index) + " frames)");
  // Back to the caller's order.
  std::vector<RgbFrame> out;
  for (int64_t i : indices)
    for (const auto& fr : found)
      if (fr.index == i) {
        out.push_back(fr);
        break;
      }
  return out;
}

std::vector<double> VideoReader::frame_times() {
  Impl& m = *impl_;
  m.rewind();
  m.start_pass();
  std::vector<double> times;
  FramePtr f = new_frame();
  while (m.next(f.get())) {
    times.push_back(m.frame_time(f.get()));
    av_frame_unref(f.get());
  }
  m.pass_exhausted();
  return times;
}

}  // namespace xsearch
