// CSV and CMX3600 EDL lists of exported clips (media/clip_lists.hpp).
#include "media/clip_lists.hpp"

#include <algorithm>
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

// The fields of one CSV record starting at `pos` (RFC 4180: quoted fields may hold commas, quotes
// doubled, line breaks); `pos` moves past the record.
std::vector<std::string> csv_record(const std::string& text, std::size_t& pos) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c != '"') fields.back() += c;
      else if (pos < text.size() && text[pos] == '"') fields.back() += '"', ++pos;
      else quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

}  // namespace

std::vector<std::string> listed_clip_files(const std::string& csv) {
  std::vector<std::string> files;
  std::size_t pos = 0;
  const auto header = csv_record(csv, pos);
  const auto column = std::find(header.begin(), header.end(), "clip");
  if (column == header.end()) return files;
  const auto index = static_cast<std::size_t>(column - header.begin());
  while (pos < csv.size()) {
    const auto row = csv_record(csv, pos);
    if (row.size() == header.size() && !row[index].empty()) files.push_back(row[index]);
  }
  return files;
}

std::string hits_csv(const std::vector<ListedHit>& hits) {
  std::string out = "rank,score,source,start,end,peak,peak_score\r\n";
  for (const auto& h : hits)
    out += std::to_string(h.rank) + "," + number(h.score, "%.6f") + "," + csv_field(h.source) + "," + number(h.start) + "," + number(h.end) + "," +
           number(h.peak) + "," + number(h.peak_score, "%.6f") + "\r\n";
  return out;
}

std::string hits_edl(const std::string& title, const std::vector<ListedHit>& hits) {
  // The clips' EDL with each source file as its own clip, starting at 0.
  std::vector<ExportedFile> files;
  for (const auto& h : hits) {
    ExportedFile f;
    f.rank = h.rank;
    f.score = h.score;
    f.source = f.file = h.source;
    f.start = h.start;
    f.end = f.file_end = h.end;
    f.file_start = 0;
    f.fps = h.fps;
    f.mode = "source";
    files.push_back(f);
  }
  return clips_edl(title, files);
}

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
