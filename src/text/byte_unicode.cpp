#include "text/byte_unicode.hpp"

#include "text/utf8.hpp"

namespace xsearch::text {

namespace {

std::array<char32_t, 256> build_codepoints() {
  std::array<char32_t, 256> cp{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) cp[b] = printable[b] ? static_cast<char32_t>(b) : next++;
  return cp;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    const auto cp = build_codepoints();
    for (int b = 0; b < 256; ++b) append_utf8(t[b], cp[b]);
    return t;
  }();
  return table;
}

const std::unordered_map<char32_t, uint8_t>& unicode_to_byte() {
  static const std::unordered_map<char32_t, uint8_t> table = [] {
    std::unordered_map<char32_t, uint8_t> t;
    const auto cp = build_codepoints();
    for (int b = 0; b < 256; ++b) t[cp[b]] = static_cast<uint8_t>(b);
    return t;
  }();
  return table;
}

}  // namespace xsearch::text
