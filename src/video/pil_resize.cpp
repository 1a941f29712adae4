// PIL's resampling (Pillow's Resample.c) for 8-bit RGB: coefficients per output pixel from the filter over
// a support widened by the scale when shrinking, normalised, turned into 22-bit fixed point; a horizontal
// pass into an intermediate 8-bit image over the rows the vertical pass needs, then the vertical pass.
// Matching it to the bit is what makes our pixel_values equal the reference processor's.
#include <cmath>
#include <vector>

#include "xsearch/error.hpp"
#include "xsearch/video.hpp"

namespace xsearch {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double bilinear_filter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic_filter(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

struct Coefficients {
  int ksize = 0;
  std::vector<int> bounds;   // per output pixel: first input pixel, count
  std::vector<int32_t> kk;   // per output pixel: ksize fixed-point weights
};

Coefficients precompute(int in_size, int out_size, int resample) {
  double (*filter)(double) = resample == 3 ? bicubic_filter : bilinear_filter;
  const double filter_support = resample == 3 ? 2.0 : 1.0;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = filter_support * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<std::size_t>(out_size) * 2);
  c.kk.assign(static_cast<std::size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(static_cast<std::size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = filter((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      c.kk[static_cast<std::size_t>(xx) * c.ksize + x] =
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int64_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace

std::vector<uint8_t> pil_resize(const uint8_t* rgb, int width, int height, int out_width, int out_height, int resample) {
  if (width <= 0 || height <= 0 || out_width <= 0 || out_height <= 0) throw Error("resize: empty image");
  if (resample != 2 && resample != 3) throw Error("resize: only PIL filters 2 (bilinear) and 3 (bicubic) are supported");
  const bool need_h = out_width != width, need_v = out_height != height;
  const Coefficients horiz = precompute(width, out_width, resample);
  Coefficients vert = precompute(height, out_height, resample);
  // Only the rows the vertical pass reads go through the horizontal pass.
  const int y_first = need_v ? vert.bounds[0] : 0;
  const int y_last = need_v ? vert.bounds[(out_height - 1) * 2] + vert.bounds[(out_height - 1) * 2 + 1] : height;
  std::vector<uint8_t> temp;
  const uint8_t* src = rgb;
  int src_width = width;
  if (need_h) {
    const int rows = y_last - y_first;
    temp.resize(static_cast<std::size_t>(rows) * out_width * 3);
    for (int yy = 0; yy < rows; ++yy) {
      const uint8_t* in_row = rgb + static_cast<std::size_t>(yy + y_first) * width * 3;
      uint8_t* out_row = temp.data() + static_cast<std::size_t>(yy) * out_width * 3;
      for (int xx = 0; xx < out_width; ++xx) {
        const int xmin = horiz.bounds[xx * 2], xmax = horiz.bounds[xx * 2 + 1];
        const int32_t* k = &horiz.kk[static_cast<std::size_t>(xx) * horiz.ksize];
        int64_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
        const uint8_t* p = in_row + static_cast<std::size_t>(xmin) * 3;
        for (int x = 0; x < xmax; ++x, p += 3) {
          s0 += p[0] * static_cast<int64_t>(k[x]);
          s1 += p[1] * static_cast<int64_t>(k[x]);
          s2 += p[2] * static_cast<int64_t>(k[x]);
        }
        out_row[xx * 3] = clip8(s0);
        out_row[xx * 3 + 1] = clip8(s1);
        out_row[xx * 3 + 2] = clip8(s2);
      }
    }
    src = temp.data();
    src_width = out_width;
    for (int i = 0; i < out_height; ++i) vert.bounds[i * 2] -= y_first;
  }
  if (!need_v) {
    if (need_h) return temp;
    return std::vector<uint8_t>(rgb, rgb + static_cast<std::size_t>(width) * height * 3);
  }
  std::vector<uint8_t> out(static_cast<std::size_t>(out_width) * out_height * 3);
  const std::size_t stride = static_cast<std::size_t>(src_width) * 3;
  for (int yy = 0; yy < out_height; ++yy) {
    const int ymin = vert.bounds[yy * 2], ymax = vert.bounds[yy * 2 + 1];
    const int32_t* k = &vert.kk[static_cast<std::size_t>(yy) * vert.ksize];
    uint8_t* out_row = out.data() + static_cast<std::size_t>(yy) * out_width * 3;
    for (int xx = 0; xx < out_width * 3; ++xx) {
      int64_t s = 1 << (kPrecisionBits - 1);
      const uint8_t* p = src + static_cast<std::size_t>(ymin) * stride + xx;
      for (int y = 0; y < ymax; ++y, p += stride) s += *p * static_cast<int64_t>(k[y]);
      out_row[xx] = clip8(s);
    }
  }
  return out;
}

}  // namespace xsearch
