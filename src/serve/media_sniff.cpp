#include "serve/media_sniff.hpp"

namespace xsearch::serve {

namespace {

bool at(std::string_view head, std::size_t offset, std::string_view magic) {
  return head.size() >= offset + magic.size() && head.substr(offset, magic.size()) == magic;
}

}  // namespace

MediaKind sniff_media(std::string_view head) {
  using namespace std::string_view_literals;
  if (at(head, 0, "\xFF\xD8\xFF"sv) || at(head, 0, "\x89PNG\r\n\x1A\n"sv) || at(head, 0, "GIF87a"sv) || at(head, 0, "GIF89a"sv) ||
      (at(head, 0, "RIFF"sv) && at(head, 8, "WEBP"sv)))
    return MediaKind::image;
  // ISO base media (MP4, MOV, 3GP): a box size, then "ftyp" (or an old QuickTime file's first atom).
  if (at(head, 4, "ftyp"sv) || at(head, 4, "moov"sv) || at(head, 4, "mdat"sv) || at(head, 4, "wide"sv) || at(head, 4, "free"sv))
    return MediaKind::video;
  if (at(head, 0, "\x1A\x45\xDF\xA3"sv) || (at(head, 0, "RIFF"sv) && at(head, 8, "AVI "sv)) || at(head, 0, "OggS"sv))
    return MediaKind::video;
  // Not recognised: BMP ("BM") and MPEG-TS (one 0x47 byte) have signatures that plain text starts with too.
  return MediaKind::none;
}

}  // namespace xsearch::serve
