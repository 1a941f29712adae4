#include "text/clip_pretokenizer.hpp"

#include <cstdlib>

#include <utf8proc.h>

#include "text/utf8.hpp"

namespace xsearch::text {

namespace {

bool is_letter(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: return true;
    default: return false;
  }
}

bool is_number(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO: return true;
    default: return false;
  }
}

std::u32string nfc(const std::u32string& text) {
  const std::string utf8 = codepoints_to_utf8(text);
  utf8proc_uint8_t* out = nullptr;
  // An explicit length (no NULLTERM), so that NUL characters in the text survive.
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                          static_cast<utf8proc_ssize_t>(utf8.size()), &out,
                                          static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) return text;  // cannot happen on valid code points; keep the text rather than lose it
  std::u32string result = utf8_to_codepoints(std::string_view(reinterpret_cast<char*>(out), static_cast<std::size_t>(n)));
  std::free(out);
  return result;
}

}  // namespace

bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::u32string normalize_clip(const std::u32string& text) {
  const std::u32string composed = nfc(text);
  std::u32string out;
  out.reserve(composed.size());
  bool in_space = false;
  for (char32_t c : composed) {
    if (is_white_space(c)) {
      if (!in_space) out.push_back(U' ');
      in_space = true;
      continue;
    }
    in_space = false;
    // Full lower-casing per character: U+0130 is the one unconditional mapping to two characters; every
    // other character has a one-character lower case.
    if (c == 0x130) {
      out.push_back(U'i');
      out.push_back(0x307);
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

std::vector<std::u32string> split_clip_words(const std::u32string& s) {
  std::vector<std::u32string> words;
  const std::size_t n = s.size();
  std::size_t i = 0;
  static const char32_t* const kContractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  while (i < n) {
    const char32_t c = s[i];
    if (is_white_space(c)) {
      ++i;
      continue;
    }
    if (c == U'\'') {
      bool matched = false;
      for (const char32_t* k : kContractions) {
        const std::u32string_view kv(k);
        if (s.compare(i, kv.size(), kv.data(), kv.size()) == 0) {
          words.emplace_back(kv);
          i += kv.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    std::size_t j = i + 1;
    if (is_letter(c)) {
      while (j < n && is_letter(s[j])) ++j;
    } else if (is_number(c)) {
      // a single digit per word
    } else {
      while (j < n && !is_white_space(s[j]) && !is_letter(s[j]) && !is_number(s[j])) ++j;
    }
    words.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return words;
}

}  // namespace xsearch::text
