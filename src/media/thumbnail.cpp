// Thumbnails: one frame decoded by VideoReader (upright, display aspect), scaled with libswscale, encoded
// with libavcodec's MJPEG encoder. Made on demand, so ingest does no extra work (README: "Thumbnails").
#include "media/thumbnail.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cassert>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "media/video_file.hpp"
#include "xsearch/error.hpp"
#include "xsearch/media_cache.hpp"
#include "xsearch/video.hpp"

namespace xsearch::media {

namespace {

struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct CodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

std::unique_ptr<AVFrame, FrameFree> alloc_frame(int width, int height, AVPixelFormat format) {
  std::unique_ptr<AVFrame, FrameFree> f(av_frame_alloc());
  if (!f) throw Error("thumbnail: out of memory");
  f->width = width;
  f->height = height;
  f->format = format;
  // Aligned rows with padding: libswscale writes (and reads) whole SIMD blocks (docs/toolchain.md).
  if (av_frame_get_buffer(f.get(), 64) < 0) throw Error("thumbnail: out of memory");
  return f;
}

std::string encode_jpeg(const RgbFrame& frame, int out_w, int out_h) {
  auto src = alloc_frame(frame.width, frame.height, AV_PIX_FMT_RGB24);
  for (int y = 0; y < frame.height; ++y)
    std::memcpy(src->data[0] + static_cast<std::ptrdiff_t>(y) * src->linesize[0], frame.rgb.data() + static_cast<std::size_t>(y) * frame.width * 3,
                static_cast<std::size_t>(frame.width) * 3);
  auto dst = alloc_frame(out_w, out_h, AV_PIX_FMT_YUVJ420P);
  std::unique_ptr<SwsContext, SwsFree> sws(sws_getContext(frame.width, frame.height, AV_PIX_FMT_RGB24, out_w, out_h, AV_PIX_FMT_YUVJ420P,
                                                          SWS_AREA, nullptr, nullptr, nullptr));
  if (!sws) throw Error("thumbnail: cannot scale " + std::to_string(frame.width) + "x" + std::to_string(frame.height));
  sws_scale(sws.get(), src->data, src->linesize, 0, frame.height, dst->data, dst->linesize);

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) throw Error("thumbnail: this FFmpeg has no MJPEG encoder");
  std::unique_ptr<AVCodecContext, CodecFree> ctx(avcodec_alloc_context3(codec));
  ctx->width = out_w;
  ctx->height = out_h;
  ctx->pix_fmt = AV_PIX_FMT_YUVJ420P;
  ctx->time_base = AVRational{1, 25};
  // A fixed quantiser: q 5 (of 2..31) looks clean at 320 px and keeps a thumbnail near 10 KB (README).
  ctx->flags |= AV_CODEC_FLAG_QSCALE;
  ctx->global_quality = FF_QP2LAMBDA * 5;
  if (avcodec_open2(ctx.get(), codec, nullptr) < 0) throw Error("thumbnail: cannot open the MJPEG encoder");
  dst->quality = ctx->global_quality;
  dst->pts = 0;
  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
  if (avcodec_send_frame(ctx.get(), dst.get()) < 0 || avcodec_send_frame(ctx.get(), nullptr) < 0)
    throw Error("thumbnail: MJPEG encoding failed");
  std::string out;
  while (avcodec_receive_packet(ctx.get(), pkt.get()) == 0) {
    out.append(reinterpret_cast<const char*>(pkt->data), static_cast<std::size_t>(pkt->size));
    av_packet_unref(pkt.get());
  }
  if (out.empty()) throw Error("thumbnail: MJPEG encoder gave no picture");
  return out;
}

// What VideoReader opens for a checked file: the descriptor's entry in /proc, which is that very file
// whatever its path means by now (another file, a FIFO swapped in after the check).
std::filesystem::path descriptor_path(const VideoFile& file) { return "/proc/self/fd/" + std::to_string(file.fd()); }

// Runs `decode` (a VideoReader on descriptor_path(file)); its errors name the video's real path.
template <class Decode>
void naming_the_video(const std::filesystem::path& video, const VideoFile& file, Decode&& decode) {
  const std::string opened = descriptor_path(file).string();
  try {
    decode();
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.compare(0, opened.size(), opened) != 0) throw;
    throw Error(video.string() + what.substr(opened.size()));
  }
}

std::string read_cached(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string thumbnail_jpeg(const RgbFrame& frame, int width) {
  const int out_w = std::max(2, std::min(width, frame.width) & ~1);  // 4:2:0 wants even sizes
  const int out_h = std::max(2, static_cast<int>(static_cast<double>(frame.height) * out_w / frame.width + 0.5) & ~1);
  return encode_jpeg(frame, out_w, out_h);
}

std::string make_thumbnail_jpeg(const std::filesystem::path& video, double time, int width) {
  // Checked (a FIFO would block the reader for good), then decoded through that descriptor.
  const VideoFile file = open_video_file(video);
  RgbFrame chosen;
  naming_the_video(video, file, [&] {
    VideoReader reader(descriptor_path(file));  // all cores: a thumbnail waits on this decode
    reader.frames_at_times({std::max(time, reader.info().start)}, [&](std::size_t, const RgbFrame& f) { chosen = f; });
  });
  if (chosen.rgb.empty()) throw Error(video.string() + ": no frame near " + std::to_string(time) + " s for a thumbnail");
  try {
    return thumbnail_jpeg(chosen, width);
  } catch (const Error& e) {
    throw Error(video.string() + ": " + e.what());
  }
}

std::vector<Thumbnail> clip_thumbnails(const Library& library, const std::vector<ClipRow>& clips) {
  namespace fs = std::filesystem;
  std::vector<Thumbnail> out(clips.size());
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    assert(clips[i].video_id == clips.front().video_id);
    out[i].jpeg = read_cached(thumbnail_path(library.media_base(), clips[i].video_id, clips[i].id));
    out[i].from_cache = !out[i].jpeg.empty();
    if (!out[i].from_cache) missing.push_back(i);
  }
  if (missing.empty()) return out;
  // One decoding pass for all of them, in time order.
  std::sort(missing.begin(), missing.end(), [&](std::size_t a, std::size_t b) { return clips[a].start + clips[a].end < clips[b].start + clips[b].end; });
  const fs::path video = clips.front().path;
  const VideoFile file = open_video_file(video);  // as in make_thumbnail_jpeg
  naming_the_video(video, file, [&] {
    VideoReader reader(descriptor_path(file));
    std::vector<double> times;
    for (std::size_t i : missing) times.push_back(std::max((clips[i].start + clips[i].end) / 2, reader.info().start));
    reader.frames_at_times(times, [&](std::size_t k, const RgbFrame& f) {
      try {
        out[missing[k]].jpeg = thumbnail_jpeg(f, 320);
      } catch (const Error& e) {
        throw Error(video.string() + ": " + e.what());
      }
    });
  });
  for (std::size_t i : missing) {
    const ClipRow& clip = clips[i];
    if (out[i].jpeg.empty()) throw Error(video.string() + ": no frame near " + std::to_string((clip.start + clip.end) / 2) + " s for a thumbnail");
    const fs::path file = thumbnail_path(library.media_base(), clip.video_id, clip.id);
    // A writer commits, then drops the folder: if the clip is still there after the file is, the writer
    // has not committed yet and its drop will come after (and take this file along).
    if (write_cache_file(file, out[i].jpeg) && library.clips_by_id({clip.id}).empty()) {
      std::error_code ec;
      fs::remove(file, ec);
    }
  }
  return out;
}

Thumbnail clip_thumbnail(const Library& library, const ClipRow& clip) { return clip_thumbnails(library, {clip}).front(); }

}  // namespace xsearch::media
