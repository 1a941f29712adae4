// What a media file holds, read back with libavformat/libavcodec for tests: its streams, and every video
// frame's time and mean luma. With a "numbered" source (make_numbered_video: frame N has luma 16 + 2N),
// the luma says which source frame an output frame is.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <cmath>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "helpers.hpp"

namespace xsearch::test {

struct ProbedFrame {
  double time = 0;  // presentation time, seconds from the stream's time 0
  double luma = 0;  // mean of the Y plane
  bool key = false;
};

struct Probed {
  std::string format;       // demuxer name
  std::string video_codec;  // "h264", "mpeg4", ...
  int width = 0, height = 0;
  int audio_streams = 0;
  double duration = 0;      // the container's, seconds
  std::vector<ProbedFrame> frames;

  // The source frame number of output frame i of a numbered video.
  int source_frame(std::size_t i) const { return static_cast<int>(std::lround((frames.at(i).luma - 16) / 2)); }
};

inline Probed probe_media(const fs::path& path) {
  Probed p;
  AVFormatContext* fmt = nullptr;
  REQUIRE(avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) == 0);
  REQUIRE(avformat_find_stream_info(fmt, nullptr) >= 0);
  p.format = fmt->iformat->name;
  p.duration = fmt->duration == AV_NOPTS_VALUE ? 0 : fmt->duration / static_cast<double>(AV_TIME_BASE);
  const int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  REQUIRE(vi >= 0);
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) ++p.audio_streams;
  AVStream* vs = fmt->streams[vi];
  p.video_codec = avcodec_get_name(vs->codecpar->codec_id);
  p.width = vs->codecpar->width;
  p.height = vs->codecpar->height;
  const AVCodec* codec = avcodec_find_decoder(vs->codecpar->codec_id);
  AVCodecContext* dec = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(dec, vs->codecpar);
  dec->pkt_timebase = vs->time_base;
  REQUIRE(avcodec_open2(dec, codec, nullptr) == 0);
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  auto receive = [&] {
    while (avcodec_receive_frame(dec, frame) == 0) {
      ProbedFrame f;
      const int64_t ts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp : frame->pts;
      f.time = ts * av_q2d(vs->time_base);
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 7, 100)
      f.key = (frame->flags & AV_FRAME_FLAG_KEY) != 0;  // FFmpeg 6.1 deprecates AVFrame::key_frame
#else
      f.key = frame->key_frame;
#endif
      double sum = 0;
      for (int y = 0; y < frame->height; ++y)
        for (int x = 0; x < frame->width; ++x) sum += frame->data[0][y * frame->linesize[0] + x];
      f.luma = sum / (static_cast<double>(frame->width) * frame->height);
      p.frames.push_back(f);
      av_frame_unref(frame);
    }
  };
  while (av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == vi) {
      avcodec_send_packet(dec, pkt);
      receive();
    }
    av_packet_unref(pkt);
  }
  avcodec_send_packet(dec, nullptr);
  receive();
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&dec);
  avformat_close_input(&fmt);
  return p;
}

// `seconds` of a 64x48 picture at `rate` frames per second whose frame N is flat grey at luma 16 + 2N
// (so at most 110 frames), encoded with `codec_args` (ffmpeg CLI arguments), plus `extra` (e.g. audio).
inline void make_numbered_video(const fs::path& path, double seconds, int rate, const std::string& codec_args, const std::string& extra = "") {
  fs::create_directories(path.parent_path());
  ffmpeg("-f lavfi -i " + quote("nullsrc=s=64x48:r=" + std::to_string(rate) + ",geq=lum='16+2*N':cb=128:cr=128,format=yuv420p") + " " + extra +
         " -t " + std::to_string(seconds) + " " + codec_args + " " + quote(path.string()));
}

}  // namespace xsearch::test
