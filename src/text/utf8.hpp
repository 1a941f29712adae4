// UTF-8 <-> code points, replacing every invalid sequence by U+FFFD (never throwing, never reading past
// the end), as Python's errors="replace" does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace xsearch::text {

std::u32string utf8_to_codepoints(std::string_view s);
void append_utf8(std::string& out, char32_t c);
std::string codepoints_to_utf8(const std::u32string& s);

}  // namespace xsearch::text
