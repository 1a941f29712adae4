// Small FFmpeg helpers for the media code: owning pointers, error text, an opened input with the time
// convention of the library (seconds from the container's start, as VideoReader gives them).
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "media/video_file.hpp"
#include "media/descriptor_input.hpp"
#include "xsearch/error.hpp"

namespace xsearch::media {

struct AvFrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct AvPacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct AvCodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct AvInputClose {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FramePtr = std::unique_ptr<AVFrame, AvFrameFree>;
using PacketPtr = std::unique_ptr<AVPacket, AvPacketFree>;
using CodecPtr = std::unique_ptr<AVCodecContext, AvCodecFree>;
using InputPtr = std::unique_ptr<AVFormatContext, AvInputClose>;
using SwsPtr = std::unique_ptr<SwsContext, SwsFree>;

inline std::string av_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

inline FramePtr new_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw Error("out of memory");
  return f;
}

inline PacketPtr new_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) throw Error("out of memory");
  return p;
}

// An input file opened and probed, with its best video stream. Times in seconds count from the
// container's start time, as the library's clip times do.
struct Input {
  std::unique_ptr<DescriptorInput> source;  // what fmt reads; declared first, freed last
  InputPtr fmt;
  int video = -1;       // index of the video stream
  double origin = 0;    // the container's start time, seconds

  AVStream* video_stream() const { return fmt->streams[video]; }
  double seconds(int64_t ts, AVRational tb) const { return static_cast<double>(ts) * av_q2d(tb) - origin; }
  int64_t stream_ts(double seconds, AVRational tb) const { return static_cast<int64_t>((seconds + origin) / av_q2d(tb)); }
};

// Throws xsearch::Error("path: cause") when the file cannot be opened or has no video stream;
// VideoFileError when it is not a regular file or (with `indexed`) not the one indexed. FFmpeg reads the
// descriptor that passed those checks, never the name again: a FIFO or another file swapped in after
// the check is not what gets read.
inline Input open_input(const std::filesystem::path& path, const std::optional<IndexedFile>& indexed = std::nullopt) {
  const VideoFile file = open_video_file(path, indexed);
  Input in;
  try {
    in.source = std::make_unique<DescriptorInput>(file.fd());
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
  av_log_set_level(AV_LOG_QUIET);  // errors reach the user as exceptions naming the file, not as FFmpeg's log
  AVFormatContext* raw = nullptr;
  // Local files only: a path from a library (a shared one is written by other machines) must never make
  // FFmpeg fetch a URL or read through concat:/subfile: into other files.
  AVDictionary* options = nullptr;
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  const int opened = open_descriptor_input(&raw, *in.source, path.c_str(), &options);
  av_dict_free(&options);
  if (int r = opened; r < 0)
    throw Error(path.string() + ": cannot open (" + av_error_text(r) + ")");
  in.fmt.reset(raw);
  if (int r = avformat_find_stream_info(raw, nullptr); r < 0) throw Error(path.string() + ": cannot read stream info (" + av_error_text(r) + ")");
  in.video = av_find_best_stream(raw, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (in.video < 0) throw Error(path.string() + ": no video stream");
  in.origin = raw->start_time == AV_NOPTS_VALUE ? 0.0 : static_cast<double>(raw->start_time) / AV_TIME_BASE;
  return in;
}

// An output file being written: closed and freed on destruction, and deleted unless finish() ran.
class Output {
 public:
  Output(const std::filesystem::path& path, const std::string& format) : path_(path) {
    const AVOutputFormat* ofmt = format.empty() ? av_guess_format(nullptr, path.c_str(), nullptr) : av_guess_format(format.c_str(), nullptr, nullptr);
    if (!ofmt) throw Error(path.string() + ": no FFmpeg muxer for " + (format.empty() ? "this file name" : "format " + format));
    if (int r = avformat_alloc_output_context2(&oc_, ofmt, nullptr, path.c_str()); r < 0 || !oc_)
      throw Error(path.string() + ": cannot start writing (" + av_error_text(r) + ")");
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() {
    if (oc_) {
      if (oc_->pb && !(oc_->oformat->flags & AVFMT_NOFILE)) avio_closep(&oc_->pb);
      avformat_free_context(oc_);
    }
    if (!finished_) {
      std::error_code ec;
      std::filesystem::remove(path_, ec);
    }
  }
  AVFormatContext* get() const { return oc_; }
  const std::filesystem::path& path() const { return path_; }
  [[noreturn]] void fail(const std::string& what, int code) const { throw Error(path_.string() + ": " + what + " (" + av_error_text(code) + ")"); }

  // Opens the file and writes the header; MP4 and MOV get their index first (`faststart`), so that a
  // browser can play before the whole file has arrived.
  void begin() {
    if (!(oc_->oformat->flags & AVFMT_NOFILE))
      if (int r = avio_open(&oc_->pb, path_.c_str(), AVIO_FLAG_WRITE); r < 0) fail("cannot create", r);
    AVDictionary* opts = nullptr;
    const std::string name = oc_->oformat->name;
    if (name == "mp4" || name == "mov") av_dict_set(&opts, "movflags", "+faststart", 0);
    const int r = avformat_write_header(oc_, &opts);
    av_dict_free(&opts);
    if (r < 0) fail("cannot write the header", r);
  }
  void write(AVPacket* p) {
    if (int r = av_interleaved_write_frame(oc_, p); r < 0) fail("cannot write", r);
  }
  void finish() {
    if (int r = av_write_trailer(oc_); r < 0) fail("cannot finish the file", r);
    if (oc_->pb && !(oc_->oformat->flags & AVFMT_NOFILE))
      if (int r = avio_closep(&oc_->pb); r < 0) fail("cannot close", r);
    finished_ = true;
  }

 private:
  std::filesystem::path path_;
  AVFormatContext* oc_ = nullptr;
  bool finished_ = false;
};

// Copies a stream's rotation (display matrix) to an output stream, so that players show it upright.
inline void copy_rotation(const AVStream* from, AVStream* to) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 29, 100)
  // FFmpeg 6.1 keeps a stream's side data in codecpar (av_stream_{get,new}_side_data are deprecated in 7.1,
  // gone in 8); avcodec_parameters_copy already took it along.
  const AVCodecParameters* in = from->codecpar;
  AVCodecParameters* out = to->codecpar;
  const AVPacketSideData* m = av_packet_side_data_get(in->coded_side_data, in->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
  if (!m || m->size == 0) return;
  if (av_packet_side_data_get(out->coded_side_data, out->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX)) return;
  if (AVPacketSideData* d = av_packet_side_data_new(&out->coded_side_data, &out->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX, m->size, 0))
    std::memcpy(d->data, m->data, m->size);
#else
  size_t size = 0;
  const uint8_t* m = av_stream_get_side_data(from, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (!m || size == 0) return;
  if (uint8_t* d = av_stream_new_side_data(to, AV_PKT_DATA_DISPLAYMATRIX, size)) std::memcpy(d, m, size);
#endif
}

// Whether an audio stream of `codec` can go into `format` (and, with browser_only, be played by a browser).
inline bool audio_fits(const AVOutputFormat* format, AVCodecID codec, bool browser_only) {
  if (browser_only && codec != AV_CODEC_ID_AAC && codec != AV_CODEC_ID_MP3 && codec != AV_CODEC_ID_OPUS && codec != AV_CODEC_ID_VORBIS &&
      codec != AV_CODEC_ID_FLAC)
    return false;
  return avformat_query_codec(format, codec, FF_COMPLIANCE_NORMAL) == 1;
}

// A packet's presentation time in its stream's units: pts, else dts.
inline int64_t packet_time(const AVPacket* p) { return p->pts != AV_NOPTS_VALUE ? p->pts : p->dts; }

}  // namespace xsearch::media
