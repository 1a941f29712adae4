// Paths in text output as a shell reads them: unchanged when every byte is safe, else in single quotes,
// or as $'...' with escapes when the name holds control characters (a newline would split the line).
// So a line's path can be pasted into a shell, and `xargs` (whose default mode reads shell quotes) takes
// `xsearch query --paths-only ... | xargs mpv` with spaces in names.
#pragma once

#include <cstdio>
#include <string>

namespace xsearch::cli {

inline std::string shell_quote(const std::string& s) {
  auto safe = [](unsigned char c) {
    // Bytes of UTF-8 names (>= 0x80) need no quotes: shells pass them through as they are.
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
           std::string("/._-+,:@%=").find(static_cast<char>(c)) != std::string::npos;
  };
  bool plain = !s.empty(), control = false;
  for (unsigned char c : s) {
    if (!safe(c)) plain = false;
    if (c < 0x20 || c == 0x7f) control = true;
  }
  if (plain) return s;
  if (!control) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  }
  std::string q = "$'";
  for (unsigned char c : s) {
    if (c == '\\' || c == '\'') {
      q += '\\';
      q += static_cast<char>(c);
    } else if (c == '\n') {
      q += "\\n";
    } else if (c == '\t') {
      q += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      q += buf;
    } else {
      q += static_cast<char>(c);
    }
  }
  return q + "'";
}

}  // namespace xsearch::cli
