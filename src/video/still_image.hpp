// A still image (JPEG, PNG, WebP, BMP, ... as FFmpeg reads them) decoded to an upright RGB24 frame, for
// `query --image`: the frame then goes through the same preprocessing as a video's frames.
#pragma once

#include <filesystem>

#include "xsearch/video.hpp"

namespace xsearch {

// The first frame of `path` (an animated image's or a video's first), upright (a JPEG's EXIF
// orientation, mirrors included: exif_orientation.hpp; else the display matrix's rotation) and stretched by its
// sample aspect ratio, as VideoReader gives frames. Throws xsearch::Error("path: cause") for a missing,
// empty or unreadable file, or one without a decodable picture.
RgbFrame read_still_image(const std::filesystem::path& path);

}  // namespace xsearch
