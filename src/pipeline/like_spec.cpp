#include "pipeline/like_spec.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "xsearch/error.hpp"

namespace xsearch::pipeline {

namespace {

// A non-negative decimal number: digits, at most one '.', nothing else (no sign, exponent or spaces,
// which strtod would take).
std::optional<double> number(const std::string& s, bool fraction_allowed) {
  if (s.empty() || s == ".") return std::nullopt;
  bool dot = false;
  for (char c : s) {
    if (c == '.' && fraction_allowed && !dot) dot = true;
    else if (c < '0' || c > '9') return std::nullopt;
  }
  const double v = std::strtod(s.c_str(), nullptr);
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

}  // namespace

std::optional<double> parse_time(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (;;) {
    const auto colon = text.find(':', from);
    parts.push_back(text.substr(from, colon == std::string::npos ? std::string::npos : colon - from));
    if (colon == std::string::npos) break;
    from = colon + 1;
  }
  if (parts.size() > 3) return std::nullopt;
  double total = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const auto v = number(parts[i], last);
    if (!v) return std::nullopt;
    // "1:75" is a typo, not 135 s: only the first part may reach 60.
    if (i > 0 && *v >= 60) return std::nullopt;
    total = total * 60 + *v;
  }
  return total;
}

LikeSpec parse_like(const std::string& like, const std::string& option) {
  LikeSpec spec;
  std::string path = like;
  const auto at = like.rfind('@');
  if (at != std::string::npos) {
    const std::string tail = like.substr(at + 1);
    if (const auto t = parse_time(tail)) {
      path = like.substr(0, at);
      spec.seconds = *t;
    } else {
      spec.time_error = "\"" + tail + "\" is not a time (seconds, or [h:]m:s as xsearch prints times)";
    }
  }
  if (path.empty()) throw Error(option + ": expected PATH or PATH@TIME, got \"" + like + "\"");
  spec.path = std::filesystem::absolute(path).lexically_normal().string();
  return spec;
}

}  // namespace xsearch::pipeline
