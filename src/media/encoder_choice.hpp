// Which video encoder a re-encoded cut or a browser rendition uses: the first of a preference list that
// this FFmpeg has and that opens (a hardware encoder without its hardware does not), and the container
// a browser plays it in.
#pragma once

#include <string>
#include <vector>

namespace xsearch::media {

struct EncoderChoice {
  std::string encoder;    // libavcodec encoder name, e.g. "libx264"
  std::string codec;      // the codec it makes, e.g. "h264"
  std::string format;     // muxer: "mp4" or "webm"
  std::string extension;  // "mp4" or "webm"
  std::string mime;       // "video/mp4" or "video/webm"
};

// H.264 first (every browser plays it in MP4), then VP9 and VP8 in WebM, then AV1 in MP4:
// libx264, libopenh264, libvpx-vp9, libvpx, libsvtav1, libaom-av1.
const std::vector<std::string>& default_encoders();

// The first encoder of `preferences` that exists and opens; its result is remembered per name. Throws
// xsearch::Error listing what was tried when none does.
EncoderChoice choose_encoder(const std::vector<std::string>& preferences = default_encoders());

}  // namespace xsearch::media
