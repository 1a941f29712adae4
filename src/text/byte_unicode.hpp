// GPT-2's byte-to-unicode table, which CLIP's BPE uses: every byte gets a printable code point (bytes
// that are printable Latin-1 map to themselves, the rest to U+0100 onwards), so that BPE works on text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace xsearch::text {

// The UTF-8 encoding of each byte's code point.
const std::array<std::string, 256>& byte_to_unicode();
// The inverse, code point -> byte.
const std::unordered_map<char32_t, uint8_t>& unicode_to_byte();

}  // namespace xsearch::text
