// What a dropped file is, from its first bytes (never its name or the type a browser guessed): a still
// image or a video container that FFmpeg reads, else nothing, so that serve refuses other files with a
// clear message before the model's helper is started.
#pragma once

#include <string>
#include <string_view>

namespace xsearch::serve {

enum class MediaKind { none, image, video };

// Needs the file's first 16 bytes (fewer: judged on what there is).
MediaKind sniff_media(std::string_view head);

// For messages: the formats recognised.
inline constexpr const char* kKnownMediaFormats = "JPEG, PNG, WebP, GIF, MP4/MOV, Matroska/WebM, AVI, Ogg";

}  // namespace xsearch::serve
