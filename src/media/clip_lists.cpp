// CSV and CMX3600 EDL lists of exported clips (media/clip_lists.hpp).
#include "media/clip_lists.hpp"

#include <cmath>
#include <cstdio>

namespace xsearch::media {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(double v, const char* format = "%.3f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// One line of comment text: no line breaks or other control characters.
std::string one_line(std::string s, std::size_t max) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (s.size() > max) s.resize(max);
  return s;
}

}  // namespace

std::string timecode(double seconds, double fps) {
  const long long base = std::max(1LL, std::llround(fps));
  const long long frames = std::max(0LL, std::llround(seconds * fps));
  char buf[96];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld:%02lld", frames / (base * 3600), frames / (base * 60) % 60, frames / base % 60,
                frames % base);
  return buf;
}

std::string clips_csv(const std::vector<ExportedFile>& files) {
  std::string out = "rank,score,source,start,end,clip,clip_start,clip_end,mode\r\n";
  for (const auto& f : files) {
    if (!f.error.empty()) continue;
    out += std::to_string(f.rank) + "," + number(f.score, "%.6f") + "," + csv_field(f.source) + "," + number(f.start) + "," + number(f.end) + "," +
           csv_field(f.file) + "," + number(f.file_start) + "," + number(f.file_end) + "," + f.mode + "\r\n";
  }
  return out;
}

std::string clips_edl(const std::string& title, const std::vector<ExportedFile>& files) {
  double fps = 0;
  for (const auto& f : files)
    if (f.error.empty() && f.fps > 0) {
      fps = f.fps;
      break;
    }
  if (fps <= 0) fps = 25;
  std::string out = "TITLE: " + one_line(title, 70) + "\r\nFCM: NON-DROP FRAME\r\n\r\n";
  double record = 3600;  // the timeline starts at 01:00:00:00
  int event = 0;
  for (const auto& f : files) {
    if (!f.error.empty()) continue;
    ++event;
    const double in = std::max(0.0, f.start - f.file_start);
    const double out_point = std::max(in, std::min(f.end, f.file_end) - f.file_start);
    const double length = std::llround(out_point * fps) / fps - std::llround(in * fps) / fps;
    char line[160];
    std::snprintf(line, sizeof line, "%03d  %-8s %-5s C        %s %s %s %s\r\n", event % 1000, "AX", f.audio ? "AA/V" : "V",
                  timecode(in, fps).c_str(), timecode(out_point, fps).c_str(), timecode(record, fps).c_str(),
                  timecode(record + length, fps).c_str());
    out += line;
    out += "* FROM CLIP NAME: " + one_line(std::filesystem::path(f.file).filename().string(), 200) + "\r\n";
    out += "* SOURCE FILE: " + one_line(f.source, 400) + "\r\n\r\n";
    record += length;
  }
  return out;
}

}  // namespace xsearch::media
