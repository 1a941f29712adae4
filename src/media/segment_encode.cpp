// Frame-accurate cut (media/segment.hpp): decode from the keyframe before `start`, encode exactly the
// frames shown in [start, end) with times counted from the first of them, copy the audio of that span.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>

extern "C" {
#include <libavutil/opt.h>
}

#include "media/av_util.hpp"
#include "media/encoder_choice.hpp"
#include "media/segment.hpp"

namespace xsearch::media {

namespace {

constexpr double kEps = 1e-6;

AVDictionary* encoder_settings(const std::string& name, const EncodeOptions& o) {
  AVDictionary* d = nullptr;
  const std::string q = std::to_string(o.quality);
  if (name == "libx264" || name == "libx265") {
    av_dict_set(&d, "crf", q.c_str(), 0);
    av_dict_set(&d, "preset", o.preset.c_str(), 0);
  } else if (name == "libvpx-vp9" || name == "libvpx") {
    av_dict_set(&d, "crf", std::to_string(std::max(4, o.quality + 12)).c_str(), 0);
    av_dict_set(&d, "b", "0", 0);
    av_dict_set(&d, "deadline", "realtime", 0);
    av_dict_set(&d, "cpu-used", "8", 0);
    av_dict_set(&d, "row-mt", "1", 0);
  } else if (name == "libaom-av1") {
    av_dict_set(&d, "crf", std::to_string(o.quality + 12).c_str(), 0);
    av_dict_set(&d, "cpu-used", "8", 0);
    av_dict_set(&d, "usage", "realtime", 0);
  } else if (name == "libsvtav1") {
    av_dict_set(&d, "crf", std::to_string(o.quality + 12).c_str(), 0);
    av_dict_set(&d, "preset", "10", 0);
  }
  return d;
}

// The output picture size: at most `max_height` lines, even sides; with square pixels at display aspect.
std::pair<int, int> output_size(int w, int h, AVRational sar, const EncodeOptions& o) {
  const double display_w = o.square_pixels && sar.num > 0 && sar.den > 0 ? w * av_q2d(sar) : w;
  const int out_h = o.max_height > 0 ? std::min(h, o.max_height) : h;
  const int out_w = static_cast<int>(std::lround(display_w * out_h / h));
  return {std::max(2, out_w & ~1), std::max(2, out_h & ~1)};
}

}  // namespace

CutResult cut_exact(const std::filesystem::path& input, double start, double end, const std::filesystem::path& output,
                    const EncodeOptions& options) {
  if (!(end > start)) throw Error(input.string() + ": empty segment " + std::to_string(start) + "-" + std::to_string(end));
  Input in = open_input(input);
  AVFormatContext* ic = in.fmt.get();
  AVStream* vs = in.video_stream();
  const AVRational vtb = vs->time_base;

  const AVCodec* decoder = avcodec_find_decoder(vs->codecpar->codec_id);
  if (!decoder) throw Error(input.string() + ": no decoder for " + avcodec_get_name(vs->codecpar->codec_id));
  CodecPtr dec(avcodec_alloc_context3(decoder));
  if (!dec) throw Error("out of memory");
  avcodec_parameters_to_context(dec.get(), vs->codecpar);
  dec->pkt_timebase = vtb;
  dec->thread_count = 0;
  if (int r = avcodec_open2(dec.get(), decoder, nullptr); r < 0) throw Error(input.string() + ": cannot open the decoder (" + av_error_text(r) + ")");

  const EncoderChoice choice = options.encoder.empty() ? choose_encoder() : choose_encoder({options.encoder});
  const AVCodec* encoder = avcodec_find_encoder_by_name(choice.encoder.c_str());
  Output out(output, options.format.empty() ? "" : options.format);
  AVFormatContext* oc = out.get();
  if (avformat_query_codec(oc->oformat, encoder->id, FF_COMPLIANCE_NORMAL) != 1)
    throw Error(output.string() + ": " + oc->oformat->name + " cannot hold " + choice.codec + " video");

  const AVRational sar = av_guess_sample_aspect_ratio(ic, vs, nullptr);
  const auto [out_w, out_h] = output_size(vs->codecpar->width, vs->codecpar->height, sar, options);
  const AVRational rate = av_guess_frame_rate(ic, vs, nullptr);
  const double fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 25.0;
  CodecPtr enc(avcodec_alloc_context3(encoder));
  if (!enc) throw Error("out of memory");
  enc->width = out_w;
  enc->height = out_h;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  const AVPixelFormat* formats = nullptr;  // null: the encoder takes any
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(61, 13, 100)
  // FFmpeg 7.1 deprecates AVCodec::pix_fmts for avcodec_get_supported_config.
  const void* configs = nullptr;
  if (avcodec_get_supported_config(enc.get(), encoder, AV_CODEC_CONFIG_PIX_FORMAT, 0, &configs, nullptr) >= 0)
    formats = static_cast<const AVPixelFormat*>(configs);
#else
  formats = encoder->pix_fmts;
#endif
  if (formats) {
    enc->pix_fmt = formats[0];
    for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p)
      if (*p == AV_PIX_FMT_YUV420P) enc->pix_fmt = *p;
  }
  enc->time_base = vtb;
  if (rate.num > 0 && rate.den > 0) enc->framerate = rate;
  enc->gop_size = std::max(1, static_cast<int>(std::lround(fps * options.gop_seconds)));
  enc->sample_aspect_ratio = options.square_pixels ? AVRational{1, 1} : sar;
  enc->color_primaries = dec->color_primaries;
  enc->color_trc = dec->color_trc;
  enc->colorspace = dec->colorspace;
  enc->thread_count = 0;
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* settings = encoder_settings(choice.encoder, options);
  const int opened = avcodec_open2(enc.get(), encoder, &settings);
  av_dict_free(&settings);
  if (opened < 0) throw Error(output.string() + ": cannot open the " + choice.encoder + " encoder (" + av_error_text(opened) + ")");

  CutResult result;
  result.video_codec = choice.codec;
  result.fps = fps;
  AVStream* ovs = avformat_new_stream(oc, nullptr);
  if (!ovs) throw Error("out of memory");
  avcodec_parameters_from_context(ovs->codecpar, enc.get());
  ovs->time_base = enc->time_base;
  ovs->sample_aspect_ratio = enc->sample_aspect_ratio;
  copy_rotation(vs, ovs);
  std::map<int, AVStream*> audio_out;
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVStream* s = ic->streams[i];
    if (s->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) continue;
    if (!audio_fits(oc->oformat, s->codecpar->codec_id, options.browser_audio_only)) {
      result.note = std::string("audio (") + avcodec_get_name(s->codecpar->codec_id) + ") left out: not for " + oc->oformat->name +
                    (options.browser_audio_only ? " in a browser" : "");
      continue;
    }
    AVStream* o = avformat_new_stream(oc, nullptr);
    if (!o) throw Error("out of memory");
    avcodec_parameters_copy(o->codecpar, s->codecpar);
    o->codecpar->codec_tag = 0;
    o->time_base = s->time_base;
    audio_out[static_cast<int>(i)] = o;
    ++result.audio_streams;
  }
  out.begin();

  // Encoder output -> file.
  PacketPtr opkt = new_packet();
  auto drain = [&](bool flushing) {
    if (flushing) avcodec_send_frame(enc.get(), nullptr);
    for (;;) {
      const int r = avcodec_receive_packet(enc.get(), opkt.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      if (r < 0) out.fail("encoding failed", r);
      // Encoders leave the duration out; MP4 then drops the last frame from its edit list.
      if (opkt->duration <= 0) opkt->duration = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(enc->framerate.num > 0 ? enc->framerate : AVRational{25, 1}), enc->time_base));
      av_packet_rescale_ts(opkt.get(), enc->time_base, ovs->time_base);
      opkt->stream_index = ovs->index;
      out.write(opkt.get());
    }
  };

  bool seeked = av_seek_frame(ic, in.video, in.stream_ts(start, vtb), AVSEEK_FLAG_BACKWARD) >= 0;
  bool have_first = false, video_done = false;
  int64_t first_ts = 0, last_ts = AV_NOPTS_VALUE;
  std::map<int, bool> audio_done;
  std::deque<PacketPtr> early_audio;  // audio read before the first frame's time is known
  std::size_t early_bytes = 0;        // what early_audio holds, bounded by kMaxEarlyAudioBytes
  double dropped_until = -std::numeric_limits<double>::infinity();  // the latest early audio dropped
  // Each packet's bytes and a fixed share for its AVPacket and buffer reference, so that a file of
  // millions of tiny packets is bounded too.
  auto held = [](const AVPacket* p) { return static_cast<std::size_t>(p->size) + 256; };
  auto clear_early = [&] {
    early_audio.clear();
    early_bytes = 0;
  };
  SwsPtr sws;
  int sws_w = 0, sws_h = 0, sws_fmt = -1;
  FramePtr frame = new_frame();
  FramePtr scaled = new_frame();
  scaled->width = out_w;
  scaled->height = out_h;
  scaled->format = enc->pix_fmt;
  if (av_frame_get_buffer(scaled.get(), 64) < 0) throw Error("out of memory");

  auto write_audio = [&](AVPacket* p) {
    const AVStream* s = ic->streams[p->stream_index];
    const double t = in.seconds(packet_time(p), s->time_base);
    if (t < result.first - kEps || t >= end - kEps) return;
    AVStream* o = audio_out[p->stream_index];
    const int64_t offset = av_rescale_q(first_ts, vtb, s->time_base);
    if (p->pts != AV_NOPTS_VALUE) p->pts -= offset;
    if (p->dts != AV_NOPTS_VALUE) p->dts -= offset;
    av_packet_rescale_ts(p, s->time_base, o->time_base);
    p->stream_index = o->index;
    p->pos = -1;
    out.write(p);
  };

  // One decoded frame: keep it when its time is in [start, end).
  auto take = [&](AVFrame* f) {
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    if (ts == AV_NOPTS_VALUE) ts = last_ts == AV_NOPTS_VALUE ? 0 : last_ts + av_rescale_q(1, av_inv_q(rate.num > 0 ? rate : AVRational{25, 1}), vtb);
    const double t = in.seconds(ts, vtb);
    if (!have_first && seeked && t > start + kEps && t > in.seconds(vs->start_time == AV_NOPTS_VALUE ? 0 : vs->start_time, vtb) + kEps) {
      // The seek landed after `start`: decode from the beginning instead.
      avformat_seek_file(ic, -1, INT64_MIN, ic->start_time == AV_NOPTS_VALUE ? 0 : ic->start_time, INT64_MAX, 0);
      avcodec_flush_buffers(dec.get());
      seeked = false;
      clear_early();
      return false;
    }
    if (t < start - kEps) return true;
    if (t >= end - kEps) {
      video_done = true;
      return true;
    }
    if (!have_first) {
      have_first = true;
      first_ts = ts;
      result.first = t;
      for (auto& p : early_audio) write_audio(p.get());
      clear_early();
      if (dropped_until >= result.first - kEps && result.note.empty())
        result.note = "audio before " + std::to_string(dropped_until) + " s left out: it came more than " +
                      std::to_string(kMaxEarlyAudioBytes >> 20) + " MiB ahead of the first video frame";
    }
    last_ts = ts;
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    const int64_t frame_duration = f->duration;
#else
    const int64_t frame_duration = f->pkt_duration;
#endif
    const double d = frame_duration > 0 ? frame_duration * av_q2d(vtb) : 1.0 / fps;
    result.last_end = t + d;
    if (!sws || sws_w != f->width || sws_h != f->height || sws_fmt != f->format) {
      sws.reset(sws_getContext(f->width, f->height, static_cast<AVPixelFormat>(f->format), out_w, out_h, enc->pix_fmt, SWS_BICUBIC, nullptr,
                               nullptr, nullptr));
      if (!sws) throw Error(input.string() + ": cannot convert its frames");
      sws_w = f->width, sws_h = f->height, sws_fmt = f->format;
    }
    if (av_frame_make_writable(scaled.get()) < 0) throw Error("out of memory");
    sws_scale(sws.get(), f->data, f->linesize, 0, f->height, scaled->data, scaled->linesize);
    scaled->pts = ts - first_ts;
    scaled->pict_type = AV_PICTURE_TYPE_NONE;
    if (int r = avcodec_send_frame(enc.get(), scaled.get()); r < 0) out.fail("encoding failed", r);
    ++result.frames;
    drain(false);
    return true;
  };

  auto receive = [&] {
    for (;;) {
      const int r = avcodec_receive_frame(dec.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      if (r < 0) throw Error(input.string() + ": decoding failed (" + av_error_text(r) + ")");
      const bool kept_going = video_done || take(frame.get());
      av_frame_unref(frame.get());
      if (!kept_going) return;
    }
  };

  PacketPtr pkt = new_packet();
  bool eof = false;
  while (!eof) {
    const int r = av_read_frame(ic, pkt.get());
    if (r == AVERROR_EOF) {
      eof = true;
      break;
    }
    if (r < 0) throw Error(input.string() + ": read error (" + av_error_text(r) + ")");
    const int si = pkt->stream_index;
    if (si == in.video) {
      if (!video_done) {
        if (int s = avcodec_send_packet(dec.get(), pkt.get()); s < 0 && s != AVERROR(EAGAIN) && s != AVERROR_INVALIDDATA)
          throw Error(input.string() + ": decoding failed (" + av_error_text(s) + ")");
        receive();
      }
    } else if (audio_out.count(si) && packet_time(pkt.get()) != AV_NOPTS_VALUE) {
      const double t = in.seconds(packet_time(pkt.get()), ic->streams[si]->time_base);
      if (t >= end - kEps) audio_done[si] = true;
      if (have_first) {
        write_audio(pkt.get());
      } else if (t >= start - 1.0) {
        PacketPtr copy = new_packet();
        av_packet_move_ref(copy.get(), pkt.get());
        early_bytes += held(copy.get());
        early_audio.push_back(std::move(copy));
        while (early_bytes > kMaxEarlyAudioBytes && early_audio.size() > 1) {
          const AVPacket* old = early_audio.front().get();
          dropped_until = std::max(dropped_until, in.seconds(packet_time(old), ic->streams[old->stream_index]->time_base));
          early_bytes -= held(old);
          early_audio.pop_front();
        }
        result.early_audio_bytes = std::max(result.early_audio_bytes, early_bytes);
      }
    }
    av_packet_unref(pkt.get());
    if (video_done && audio_done.size() >= audio_out.size()) break;
  }
  if (eof && !video_done) {  // the frames still inside the decoder
    avcodec_send_packet(dec.get(), nullptr);
    receive();
  }
  if (result.frames == 0) throw Error(input.string() + ": no video frames in " + std::to_string(start) + "-" + std::to_string(end) + " s");
  drain(true);
  out.finish();
  return result;
}

}  // namespace xsearch::media
