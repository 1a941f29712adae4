// Whether a browser's <video> plays a file as it is (media/browser_playable.hpp): reads the header only.
#include "media/browser_playable.hpp"

#include <algorithm>
#include <cstring>

#include "media/av_util.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace xsearch::media {

namespace {

std::string lower_extension(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

bool one_of(AVCodecID id, std::initializer_list<AVCodecID> ids) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

}  // namespace

Playability browser_playable(const std::filesystem::path& path) {
  const Input in = open_input(path);
  const AVFormatContext* ic = in.fmt.get();
  const AVCodecParameters* v = in.video_stream()->codecpar;
  const std::string demuxer = ic->iformat->name;
  const std::string ext = lower_extension(path);
  const std::string codec = avcodec_get_name(v->codec_id);
  Playability p;
  bool mp4 = false, webm = false;
  if (demuxer.find("mp4") != std::string::npos && (ext == ".mp4" || ext == ".m4v" || ext == ".mov")) mp4 = true;
  else if (demuxer.find("webm") != std::string::npos && ext == ".webm") webm = true;
  if (!mp4 && !webm) {
    p.reason = std::string(ic->iformat->name) + " container";
    return p;
  }
  if (mp4 && !one_of(v->codec_id, {AV_CODEC_ID_H264, AV_CODEC_ID_VP9, AV_CODEC_ID_AV1})) {
    p.reason = codec + " video in MP4";
    return p;
  }
  if (webm && !one_of(v->codec_id, {AV_CODEC_ID_VP8, AV_CODEC_ID_VP9, AV_CODEC_ID_AV1})) {
    p.reason = codec + " video in WebM";
    return p;
  }
  // Browsers decode 8-bit 4:2:0 H.264 only (High 10, 4:2:2 and 4:4:4 profiles fail).
  const auto pix = static_cast<AVPixelFormat>(v->format);
  if (v->codec_id == AV_CODEC_ID_H264 && pix != AV_PIX_FMT_YUV420P && pix != AV_PIX_FMT_YUVJ420P) {
    const char* name = av_get_pix_fmt_name(pix);
    p.reason = std::string("H.264 in ") + (name ? name : "an unknown pixel format");
    return p;
  }
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVCodecParameters* a = ic->streams[i]->codecpar;
    if (a->codec_type != AVMEDIA_TYPE_AUDIO) continue;
    const bool ok = mp4 ? one_of(a->codec_id, {AV_CODEC_ID_AAC, AV_CODEC_ID_MP3, AV_CODEC_ID_OPUS, AV_CODEC_ID_FLAC})
                        : one_of(a->codec_id, {AV_CODEC_ID_OPUS, AV_CODEC_ID_VORBIS});
    if (!ok) {
      p.reason = std::string(avcodec_get_name(a->codec_id)) + " audio";
      return p;
    }
  }
  p.playable = true;
  p.mime = mp4 ? "video/mp4" : "video/webm";
  return p;
}

}  // namespace xsearch::media
