// read_still_image on FFmpeg: open (local files only), decode the first picture, convert with the same
// RGB conversion as VideoReader (rgb_conversion.hpp), so that a still and a video frame of the same
// picture preprocess alike.
#include "video/still_image.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
}

#include <algorithm>
#include <cmath>
#include <memory>

#include "video/exif_orientation.hpp"
#include "video/rgb_conversion.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace {

struct InputClose {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

// Clockwise degrees (0, 90, 180, 270) of a frame's display matrix; 0 without one.
int rotation_of(const AVFrame* f) {
  const AVFrameSideData* side = av_frame_get_side_data(f, AV_FRAME_DATA_DISPLAYMATRIX);
  if (!side || side->size < 9 * static_cast<int>(sizeof(int32_t))) return 0;
  const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(side->data));
  if (!std::isfinite(ccw)) return 0;
  int cw = static_cast<int>(std::lround(-ccw / 90.0)) * 90 % 360;
  return cw < 0 ? cw + 360 : cw;
}

}  // namespace

RgbFrame read_still_image(const std::filesystem::path& path) {
  const std::string where = path.string();
  auto fail = [&](const std::string& cause) -> void { throw Error(where + ": " + cause); };
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("no such file");
  if (std::filesystem::is_directory(path, ec)) fail("is a directory");
  if (std::filesystem::file_size(path, ec) == 0) fail("empty file");
  av_log_set_level(AV_LOG_QUIET);  // errors reach the user as exceptions naming the file
  AVFormatContext* raw = nullptr;
  AVDictionary* options = nullptr;
  av_dict_set(&options, "protocol_whitelist", "file", 0);  // never a URL, concat: or subfile:
  int r = avformat_open_input(&raw, path.c_str(), nullptr, &options);
  av_dict_free(&options);
  if (r < 0) fail("not a readable image (" + video_detail::av_error(r) + ")");
  std::unique_ptr<AVFormatContext, InputClose> fmt(raw);
  if ((r = avformat_find_stream_info(raw, nullptr)) < 0) fail("cannot read stream information (" + video_detail::av_error(r) + ")");
  const int stream = av_find_best_stream(raw, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream < 0) fail("not an image (no picture in it)");
  const AVCodecParameters* par = raw->streams[stream]->codecpar;
  const AVCodec* decoder = avcodec_find_decoder(par->codec_id);
  if (!decoder) fail("no decoder for codec \"" + std::string(avcodec_get_name(par->codec_id)) + "\"");
  std::unique_ptr<AVCodecContext, CodecFree> codec(avcodec_alloc_context3(decoder));
  if (!codec) throw std::bad_alloc();
  if ((r = avcodec_parameters_to_context(codec.get(), par)) < 0 || (r = avcodec_open2(codec.get(), decoder, nullptr)) < 0)
    fail("cannot open the " + std::string(decoder->name) + " decoder (" + video_detail::av_error(r) + ")");
  std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
  if (!packet) throw std::bad_alloc();
  video_detail::FramePtr frame = video_detail::new_frame();
  // Packets of the picture's stream until the decoder gives a frame; at the end, drain it.
  bool got = false, draining = false;
  while (!got) {
    r = avcodec_receive_frame(codec.get(), frame.get());
    if (r == 0) {
      got = true;
      break;
    }
    if (r != AVERROR(EAGAIN) || draining) break;  // the end, or an error
    const int read = av_read_frame(raw, packet.get());
    if (read < 0) {
      draining = true;
      avcodec_send_packet(codec.get(), nullptr);
      continue;
    }
    if (packet->stream_index == stream) avcodec_send_packet(codec.get(), packet.get());  // a bad packet: the next may do
    av_packet_unref(packet.get());
  }
  if (!got) fail("not a readable image (nothing in it decodes as a picture: damaged, cut short, or not an image)");
  if (frame->width <= 0 || frame->height <= 0 || av_image_check_size(frame->width, frame->height, 0, nullptr) < 0)
    fail("implausible picture size " + std::to_string(frame->width) + "x" + std::to_string(frame->height));
  // Shown size, as VideoReader's: the sample aspect ratio stretches the width.
  AVRational sar = av_guess_sample_aspect_ratio(raw, raw->streams[stream], frame.get());
  int width = frame->width;
  if (sar.num > 0 && sar.den > 0 && sar.num != sar.den) {
    const double stretched = std::round(static_cast<double>(width) * sar.num / sar.den);
    if (!(stretched < 65536) || av_image_check_size(static_cast<int>(std::max(2.0, stretched)), frame->height, 0, nullptr) < 0)
      fail("implausible sample aspect ratio " + std::to_string(sar.num) + ":" + std::to_string(sar.den));
    width = std::max(2, static_cast<int>(stretched));
  }
  // A JPEG's EXIF orientation (frame metadata "Orientation") says it all, mirrors included. FFmpeg also
  // derives a display matrix from it, whose rotation alone (rotation_of) would lose the mirror of values
  // 2, 4, 5 and 7: with the tag, the tag wins and the matrix is not applied as well.
  const AVDictionaryEntry* tag = av_dict_get(frame->metadata, "Orientation", nullptr, 0);
  const int rotation = tag ? 0 : rotation_of(frame.get());
  const bool swap = rotation % 180 != 0;
  video_detail::RgbConverter converter;
  RgbFrame rgb = converter.convert(frame.get(), swap ? frame->height : width, swap ? width : frame->height, rotation, where);
  if (tag) apply_exif_orientation(rgb, exif_orientation_value(tag->value));
  return rgb;
}

}  // namespace xsearch
