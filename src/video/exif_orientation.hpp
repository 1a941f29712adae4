// EXIF orientation (tag 0x0112): how a camera's stored picture must be turned to be seen upright. Phones
// store portrait photos sideways with orientation 6 or 8, and some cameras mirrored (2, 4, 5, 7). FFmpeg's
// JPEG decoder reports the tag in the frame's metadata ("Orientation", as "    6") and a display matrix
// made from it; the matrix's rotation alone loses the mirror, so `query --image` applies the tag here.
#pragma once

#include "xsearch/video.hpp"

namespace xsearch {

// The EXIF value 1 to 8 named by `text` (the metadata's decimal string, leading blanks allowed), or 1 (as
// stored) for anything else.
int exif_orientation_value(const char* text);

// `frame` turned upright for EXIF orientation `orientation`, per the EXIF 2.3 table (the stored row 0 and
// column 0 are, for 1: top, left; 2: top, right; 3: bottom, right; 4: bottom, left; 5: left, top;
// 6: right, top; 7: right, bottom; 8: left, bottom). Values outside 2..8 leave it as it is.
void apply_exif_orientation(RgbFrame& frame, int orientation);

}  // namespace xsearch
