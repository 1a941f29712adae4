// The ingest progress line on a terminal: a bar, files and clips done of total, clips/s and ETA, redrawn
// at most ten times a second on stderr; cleared before any other message.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "xsearch/ingest.hpp"

namespace xsearch::cli {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  ~ProgressLine() { clear(); }

  void update(const IngestProgress& p) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && p.files_done < p.files_total) return;
    last_ = now;
    const int width = 24;
    const double frac = p.clips_total > 0 ? std::min(1.0, static_cast<double>(p.clips_done) / p.clips_total)
                        : p.files_total > 0 ? static_cast<double>(p.files_done) / p.files_total : 0.0;
    const int filled = static_cast<int>(frac * width);
    std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
    std::string eta = "--";
    if (p.eta_seconds >= 0) {
      const long s = static_cast<long>(p.eta_seconds);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
      eta = buf;
    }
    std::fprintf(stderr, "\r\033[K%s %lld/%lld files  %lld/%lld clips  %.2f clips/s  ETA %s", bar.c_str(),
                 static_cast<long long>(p.files_done), static_cast<long long>(p.files_total),
                 static_cast<long long>(p.clips_done), static_cast<long long>(p.clips_total), p.clips_per_second, eta.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  void clear() {
    if (enabled_ && drawn_) {
      std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
      drawn_ = false;
    }
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace xsearch::cli
