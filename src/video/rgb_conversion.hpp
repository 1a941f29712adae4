// Decoded frames to upright RGB24 (libswscale, then the stream's rotation), for video_reader.cpp and
// still_image.cpp (nothing else includes this file), with the AVFrame holder they use.
#pragma once

extern "C" {
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "xsearch/error.hpp"
#include "xsearch/video.hpp"

namespace xsearch::video_detail {

inline std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;

inline FramePtr new_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw std::bad_alloc();
  return f;
}

// Rotates RGB24 clockwise by 90, 180 or 270 degrees.
inline void rotate_rgb(RgbFrame& f, int degrees) {
  if (degrees == 0) return;
  const int w = f.width, h = f.height;
  std::vector<uint8_t> out(f.rgb.size());
  const int ow = degrees == 180 ? w : h, oh = degrees == 180 ? h : w;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int nx, ny;
      if (degrees == 90) { nx = h - 1 - y; ny = x; }
      else if (degrees == 180) { nx = w - 1 - x; ny = h - 1 - y; }
      else { nx = y; ny = w - 1 - x; }
      const uint8_t* s = &f.rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      uint8_t* d = &out[(static_cast<std::size_t>(ny) * ow + nx) * 3];
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  f.rgb.swap(out);
  f.width = ow;
  f.height = oh;
}

class RgbConverter {
 public:
  RgbConverter() = default;
  RgbConverter(const RgbConverter&) = delete;
  RgbConverter& operator=(const RgbConverter&) = delete;
  ~RgbConverter() { sws_freeContext(sws_); }

  // `f` as an upright RGB24 frame of width x height (the shown size, after `rotation` clockwise degrees).
  // Failures throw Error("WHERE: cause").
  RgbFrame convert(const AVFrame* f, int width, int height, int rotation, const std::string& where) {
    auto fail = [&](const std::string& cause) { throw Error(where + ": " + cause); };
    const int dst_w = rotation % 180 == 0 ? width : height;
    const int dst_h = rotation % 180 == 0 ? height : width;
    if (f->width <= 0 || f->height <= 0) fail("decoded a frame without a size");
    sws_ = sws_getCachedContext(sws_, f->width, f->height, static_cast<AVPixelFormat>(f->format), dst_w, dst_h, AV_PIX_FMT_RGB24,
                                SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (!sws_) fail("cannot convert frames of pixel format " + std::to_string(f->format) + " to RGB");
    int strides[4] = {0, 0, 0, 0};
    uint8_t* const* planes = destination(dst_w, dst_h, strides, where);
    const int rows = sws_scale(sws_, f->data, f->linesize, 0, f->height, planes, strides);
    if (rows != dst_h) fail("converting a frame to RGB gave " + std::to_string(rows) + " of " + std::to_string(dst_h) + " rows");
    RgbFrame out;
    out.width = dst_w;
    out.height = dst_h;
    const std::size_t row_bytes = static_cast<std::size_t>(dst_w) * 3;
    out.rgb.resize(row_bytes * dst_h);
    for (int y = 0; y < dst_h; ++y)
      std::copy_n(planes[0] + static_cast<std::ptrdiff_t>(y) * strides[0], row_bytes, out.rgb.data() + row_bytes * y);
    rotate_rgb(out, rotation);
    return out;
  }

 private:
  // swscale's destination: FFmpeg-allocated, rows aligned to 64 bytes and padding after the last row.
  // libswscale's x86 writers store whole SIMD blocks, so a tightly packed `width * 3` destination overflows
  // the heap on some sizes (360x640, 426x240, 200x100) and leaves the last columns unwritten on others
  // (854x480). Rows are copied out tightly packed afterwards.
  uint8_t* const* destination(int width, int height, int* strides, const std::string& where) {
    if (!buffer_ || buffer_->width != width || buffer_->height != height) {
      buffer_ = new_frame();
      buffer_->format = AV_PIX_FMT_RGB24;
      buffer_->width = width;
      buffer_->height = height;
      const int r = av_frame_get_buffer(buffer_.get(), 64);
      if (r < 0)
        throw Error(where + ": cannot allocate a " + std::to_string(width) + "x" + std::to_string(height) + " RGB frame (" + av_error(r) + ")");
    }
    for (int i = 0; i < 4; ++i) strides[i] = buffer_->linesize[i];
    return buffer_->data;
  }

  SwsContext* sws_ = nullptr;
  FramePtr buffer_;
};

}  // namespace xsearch::video_detail
