// Picks a working video encoder (media/encoder_choice.hpp) by opening each candidate once on a tiny frame.
#include "media/encoder_choice.hpp"

#include <map>
#include <mutex>

#include "media/av_util.hpp"

namespace xsearch::media {

namespace {

// Whether `codec` opens for a small 4:2:0 picture at 25 frames per second.
bool opens(const AVCodec* codec) {
  CodecPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) return false;
  ctx->width = 64;
  ctx->height = 64;
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->time_base = AVRational{1, 25};
  ctx->framerate = AVRational{25, 1};
  return avcodec_open2(ctx.get(), codec, nullptr) == 0;
}

EncoderChoice describe(const AVCodec* codec) {
  EncoderChoice c;
  c.encoder = codec->name;
  c.codec = avcodec_get_name(codec->id);
  const bool webm = codec->id == AV_CODEC_ID_VP8 || codec->id == AV_CODEC_ID_VP9;
  c.format = webm ? "webm" : "mp4";
  c.extension = c.format;
  c.mime = webm ? "video/webm" : "video/mp4";
  return c;
}

}  // namespace

const std::vector<std::string>& default_encoders() {
  static const std::vector<std::string> names = {"libx264", "libopenh264", "libvpx-vp9", "libvpx", "libsvtav1", "libaom-av1"};
  return names;
}

EncoderChoice choose_encoder(const std::vector<std::string>& preferences) {
  static std::mutex mutex;
  static std::map<std::string, bool> usable;
  std::lock_guard<std::mutex> lock(mutex);
  av_log_set_level(AV_LOG_QUIET);
  std::string tried;
  for (const auto& name : preferences) {
    const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
    if (codec && codec->type == AVMEDIA_TYPE_VIDEO) {
      auto it = usable.find(name);
      if (it == usable.end()) it = usable.emplace(name, opens(codec)).first;
      if (it->second) return describe(codec);
    }
    tried += (tried.empty() ? "" : ", ") + name;
  }
  throw Error("no usable video encoder in this FFmpeg (tried " + tried + ")");
}

}  // namespace xsearch::media
