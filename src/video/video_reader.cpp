// VideoReader on FFmpeg's libraries: opening (rotation, aspect, the first frame), decoding in presentation
// order with frame threading, seeking over long gaps, dropping the non-reference frames no target can pick
// (selective_decoding.hpp), and RGB conversion of chosen frames only (rgb_conversion.hpp). Where the video
// ends is found in video_end.cpp.
extern "C" {
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
}

#include "video/video_reader_impl.hpp"

namespace xsearch {

VideoReader::VideoReader(const std::filesystem::path& path, int threads, std::function<bool()> interrupted, bool selective,
                         bool provisional_end)
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
  m.decoder = decoder;
  m.threads = threads;  // 0: as many as FFmpeg sees fit
  m.open_decoder();
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
  // Where it ends (video_end.cpp): from the container's estimate of its length, and the header's.
  m.estimate = stream->duration != AV_NOPTS_VALUE ? stream->duration * av_q2d(stream->time_base)
               : m.fmt->duration != AV_NOPTS_VALUE ? m.fmt->duration / static_cast<double>(AV_TIME_BASE)
                                                     : 0.0;
  // The video stream's own duration, or the format's when the video is its only stream (an audio track may
  // legitimately run longer).
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
    m.announced = (stream->start_time == AV_NOPTS_VALUE ? 0 : stream->start_time) * av_q2d(m.time_base) + stream->duration * av_q2d(m.time_base) - m.origin;
  else if (m.fmt->nb_streams == 1 && m.fmt->duration != AV_NOPTS_VALUE && m.fmt->duration > 0)
    m.announced = m.fmt->duration / static_cast<double>(AV_TIME_BASE);
  // A provisional end is for passes that can confirm it: selective ones (their checks see each frame).
  m.end_provisional = provisional_end && m.selective_codec && m.selective_wanted && m.end_from_packets();
  if (!m.end_provisional) m.probe_end();
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
bool VideoReader::end_revised() const { return impl_->end_revised; }
bool VideoReader::end_settled() const { return !impl_->end_provisional; }
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
  if (end_provisional && selective) confirm_end(times.size(), have_current ? current.get() : nullptr, current_time, candidate.get(), exhausted);
  return true;
}

void VideoReader::frames_at_times(const std::vector<double>& times, const std::function<void(std::size_t, const RgbFrame&)>& on_frame,
                                  bool allow_seek) {
  Impl& m = *impl_;
  if (!std::is_sorted(times.begin(), times.end())) throw Error("frames_at_times: times must be ascending");
  for (double t : times)
    if (!std::isfinite(t)) throw Error("frames_at_times: times must be finite");
  std::size_t delivered = 0;
  m.end_revised = false;
  // A pass planned from a wrong end is void, its count of damage too: the pass planned again counts it.
  const int64_t errors_before = m.errors;
  auto settle = [&] {
    m.settle_end();
    if (m.end_revised) m.errors = errors_before;
  };
  try {
    bool chosen = false;
    if (m.selective_wanted && m.selective_codec) {
      chosen = m.choose(times, on_frame, allow_seek, true, delivered);
      // Something came out that selective decoding cannot vouch for (damage, odd timestamps): decode again
      // in full, as before, passing on only what was not passed on yet. The damage is counted once. But
      // first the end: planned from a wrong one, the pass is void anyway.
      if (!chosen) {
        m.errors = errors_before;
        if (m.end_provisional) settle();
        if (m.end_revised) return;
      }
    }
    if (!chosen) m.choose(times, on_frame, allow_seek, false, delivered);
  } catch (const Error&) {
    // Whether what was passed on before the failure stands depends on the end it was planned from (unless
    // the failure is the probe's own: end_revised() with the end still provisional).
    if (m.end_provisional && !m.end_revised) settle();
    throw;
  }
  if (m.end_provisional) settle();  // the pass could not confirm it
}

void VideoReader::set_selective_decoding(bool on) { impl_->selective_wanted = on; }

std::vector<RgbFrame> VideoReader::frames_at_indices(const std::vector<int64_t>& indices) {
  Impl& m = *impl_;
  std::vector<int64_t> wanted = indices;
  std::sort(wanted.begin(), wanted.end());
  if (!wanted.empty() && wanted.front() < 0) throw Error("frame indices must not be negative");
  if (m.end_provisional) m.settle_end();
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
  if (m.end_provisional) m.settle_end();
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
