// apply_exif_orientation: each output pixel (x, y) of the upright picture is read from the stored picture
// at the position the EXIF table gives; a plain copy loop (a still is read once per query).
#include "video/exif_orientation.hpp"

#include <cstdlib>
#include <cstring>
#include <utility>

namespace xsearch {

int exif_orientation_value(const char* text) {
  if (!text) return 1;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
}

void apply_exif_orientation(RgbFrame& frame, int orientation) {
  if (orientation < 2 || orientation > 8) return;
  const int w = frame.width, h = frame.height;
  const bool swap = orientation >= 5;  // 5 to 8 turn the picture a quarter: width and height trade places
  const int out_w = swap ? h : w, out_h = swap ? w : h;
  std::vector<uint8_t> out(frame.rgb.size());
  for (int y = 0; y < out_h; ++y) {
    for (int x = 0; x < out_w; ++x) {
      int sx = x, sy = y;  // where upright (x, y) lies in the stored picture
      switch (orientation) {
        case 2: sx = w - 1 - x; break;                      // mirrored left to right
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;      // upside down
        case 4: sy = h - 1 - y; break;                      // mirrored top to bottom
        case 5: sx = y; sy = x; break;                      // transposed
        case 6: sx = y; sy = h - 1 - x; break;              // stored a quarter turn anticlockwise
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;      // transposed across the other diagonal
        case 8: sx = w - 1 - y; sy = x; break;              // stored a quarter turn clockwise
      }
      std::memcpy(&out[(static_cast<size_t>(y) * out_w + x) * 3], &frame.rgb[(static_cast<size_t>(sy) * w + sx) * 3], 3);
    }
  }
  frame.rgb = std::move(out);
  frame.width = out_w;
  frame.height = out_h;
}

}  // namespace xsearch
