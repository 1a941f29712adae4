#include "io/printable.hpp"

#include <cstdio>

namespace xsearch {

std::string printable(const std::string& s, std::size_t max_chars) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && out.size() < max_chars; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (out.size() >= max_chars) out += "...";
  return out;
}

}  // namespace xsearch
