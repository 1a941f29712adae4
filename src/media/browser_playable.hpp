// Whether a browser's <video> element plays a video file as it is: H.264 (8-bit 4:2:0), VP9 or AV1 in
// MP4 (.mp4, .m4v, .mov), VP8, VP9 or AV1 in WebM (.webm), with AAC, MP3, Opus or FLAC audio in MP4 and
// Opus or Vorbis in WebM. Anything else (AVI, Matroska, MPEG-4 Part 2, HEVC, ...) gets a rendition.
#pragma once

#include <filesystem>
#include <string>

namespace xsearch::media {

struct Playability {
  bool playable = false;
  std::string mime;    // with playable: "video/mp4" or "video/webm"
  std::string reason;  // without: what a browser cannot play, e.g. "mpeg4 video in MP4", "avi container"
};

// Reads the file's header (no decoding). Throws xsearch::Error("path: cause") when it cannot be opened.
Playability browser_playable(const std::filesystem::path& path);

}  // namespace xsearch::media
