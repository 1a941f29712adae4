// Stream copy of a segment (media/segment.hpp): packets are moved as they are, so the cut starts and ends
// at keyframes. The video keyframe at or before `start` is found while reading (a seek lands at or before
// it); the video ends before the first keyframe shown at or after `end`, so whole GOPs are kept and every
// frame decodes. Audio follows the video's span.
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "media/av_util.hpp"
#include "media/segment.hpp"

namespace xsearch::media {

namespace {

constexpr double kEps = 1e-6;

bool writable_as(const AVOutputFormat* ofmt, const Input& in) {
  return avformat_query_codec(ofmt, in.video_stream()->codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 1;
}

}  // namespace

std::pair<std::string, std::string> copy_container(const std::filesystem::path& input) {
  const Input in = open_input(input);
  std::string ext = input.extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!ext.empty()) {
    const AVOutputFormat* ofmt = av_guess_format(nullptr, ("x." + ext).c_str(), nullptr);
    if (ofmt && writable_as(ofmt, in)) return {ofmt->name, ext};
  }
  return {"matroska", "mkv"};
}

CutResult cut_copy(const std::filesystem::path& input, double start, double end, const std::filesystem::path& output,
                   const std::string& format) {
  if (!(end > start)) throw Error(input.string() + ": empty segment " + std::to_string(start) + "-" + std::to_string(end));
  Input in = open_input(input);
  Output out(output, format);
  AVFormatContext* ic = in.fmt.get();
  AVFormatContext* oc = out.get();

  AVStream* vs = in.video_stream();
  CutResult result;
  std::map<int, int> out_index;  // input stream -> output stream
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVStream* s = ic->streams[i];
    const bool video = static_cast<int>(i) == in.video;
    if (!video) {
      if (s->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) continue;
      if (!audio_fits(oc->oformat, s->codecpar->codec_id, false)) {
        result.note = std::string("audio (") + avcodec_get_name(s->codecpar->codec_id) + ") left out: " + oc->oformat->name + " cannot hold it";
        continue;
      }
    } else if (avformat_query_codec(oc->oformat, s->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      throw Error(output.string() + ": " + oc->oformat->name + " cannot hold " + avcodec_get_name(s->codecpar->codec_id) + " video");
    }
    AVStream* o = avformat_new_stream(oc, nullptr);
    if (!o) throw Error("out of memory");
    if (int r = avcodec_parameters_copy(o->codecpar, s->codecpar); r < 0) out.fail("cannot copy stream parameters", r);
    o->codecpar->codec_tag = 0;  // the muxer picks its own tag for the codec
    o->time_base = s->time_base;
    o->sample_aspect_ratio = s->sample_aspect_ratio;
    if (video) copy_rotation(s, o);
    out_index[static_cast<int>(i)] = o->index;
    if (!video) ++result.audio_streams;
  }
  out.begin();

  // A failed seek leaves the demuxer at the start, which is where it is after opening: read through.
  av_seek_frame(ic, in.video, in.stream_ts(start, vs->time_base), AVSEEK_FLAG_BACKWARD);

  double cut = std::numeric_limits<double>::quiet_NaN();  // time of the chosen keyframe
  int64_t cut_ts = 0;                                     // its timestamp (video time base)
  bool started = false, video_done = false;
  std::map<int, bool> audio_done;
  std::vector<PacketPtr> pending;  // packets from the candidate keyframe on, until the choice is final
  std::vector<PacketPtr> late_audio;  // audio after `end`, kept up to where the video ends
  double video_end = std::numeric_limits<double>::infinity();

  auto write = [&](AVPacket* p) {
    const AVStream* s = ic->streams[p->stream_index];
    AVStream* o = oc->streams[out_index[p->stream_index]];
    const int64_t offset = av_rescale_q(cut_ts, vs->time_base, s->time_base);  // output times start at the cut
    if (p->stream_index == in.video) {
      const double t = in.seconds(packet_time(p), s->time_base);
      const double d = p->duration > 0 ? p->duration * av_q2d(s->time_base) : 0;
      result.last_end = std::max(result.last_end, t + d);
      ++result.frames;
    }
    if (p->pts != AV_NOPTS_VALUE) p->pts -= offset;
    if (p->dts != AV_NOPTS_VALUE) p->dts -= offset;
    av_packet_rescale_ts(p, s->time_base, o->time_base);
    p->stream_index = o->index;
    p->pos = -1;
    out.write(p);
  };
  auto write_late_audio = [&] {
    for (auto& p : late_audio)
      if (in.seconds(packet_time(p.get()), ic->streams[p->stream_index]->time_base) < video_end - kEps) write(p.get());
    late_audio.clear();
  };
  auto flush_pending = [&] {
    for (auto& p : pending) {
      const double t = in.seconds(packet_time(p.get()), ic->streams[p->stream_index]->time_base);
      if (p->stream_index == in.video) write(p.get());
      else if (t >= end - kEps) late_audio.push_back(std::move(p));
      else if (t >= cut - kEps) write(p.get());
    }
    pending.clear();
    started = true;
  };

  PacketPtr pkt = new_packet();
  for (;;) {
    const int r = av_read_frame(ic, pkt.get());
    if (r == AVERROR_EOF) break;
    if (r < 0) throw Error(input.string() + ": read error (" + av_error_text(r) + ")");
    const int si = pkt->stream_index;
    if (!out_index.count(si) || packet_time(pkt.get()) == AV_NOPTS_VALUE) {
      av_packet_unref(pkt.get());
      continue;
    }
    const AVRational tb = ic->streams[si]->time_base;
    const double t = in.seconds(packet_time(pkt.get()), tb);
    if (si == in.video) {
      const double decode_t = pkt->dts != AV_NOPTS_VALUE ? in.seconds(pkt->dts, tb) : t;
      const bool key = pkt->flags & AV_PKT_FLAG_KEY;
      if (!started && key && !std::isnan(cut) && t > cut && t >= end - kEps) flush_pending();  // a tiny segment
      if (!started) {
        if (key && (t <= start + kEps || std::isnan(cut))) {
          pending.clear();  // a later keyframe still at or before `start`: nearer
          cut = t;
          cut_ts = packet_time(pkt.get());
        }
        if (std::isnan(cut)) {
          av_packet_unref(pkt.get());
          continue;  // nothing decodes before the first keyframe
        }
        PacketPtr copy = new_packet();
        av_packet_move_ref(copy.get(), pkt.get());
        pending.push_back(std::move(copy));
        // Past `start` in decode order (or cut at a keyframe after it): no later keyframe can be nearer.
        if (decode_t > start + kEps || cut > start + kEps) flush_pending();
        continue;
      }
      if (!video_done && key && t >= end - kEps) {
        video_done = true;
        video_end = t;
        write_late_audio();
      }
      if (!video_done) write(pkt.get());
    } else if (!std::isnan(cut)) {
      if (!started) {
        PacketPtr copy = new_packet();
        av_packet_move_ref(copy.get(), pkt.get());
        pending.push_back(std::move(copy));
      } else if (t >= video_end - kEps) {
        audio_done[si] = true;
      } else if (t >= end - kEps) {
        PacketPtr copy = new_packet();  // kept if the video runs on to a keyframe after it
        av_packet_move_ref(copy.get(), pkt.get());
        late_audio.push_back(std::move(copy));
      } else if (t >= cut - kEps) {
        write(pkt.get());
      }
    }
    av_packet_unref(pkt.get());
    if (video_done && static_cast<int>(audio_done.size()) >= result.audio_streams) break;
    if (video_done && t > video_end + 10) break;  // an audio stream that ended early
  }
  if (!started && !std::isnan(cut)) flush_pending();
  if (!video_done) {
    video_end = result.last_end;
    write_late_audio();
  }
  if (result.frames == 0) throw Error(input.string() + ": no video frames in " + std::to_string(start) + "-" + std::to_string(end) + " s");
  result.first = cut;
  if (const AVRational rate = av_guess_frame_rate(ic, vs, nullptr); rate.num > 0 && rate.den > 0) result.fps = av_q2d(rate);
  result.video_codec = avcodec_get_name(vs->codecpar->codec_id);
  out.finish();
  return result;
}

}  // namespace xsearch::media
