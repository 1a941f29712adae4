// Cutting a query's hits into files for editors (media/export_hits.hpp).
#include "media/export_hits.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "io/atomic_file.hpp"
#include "media/encoder_choice.hpp"
#include "media/segment.hpp"
#include "xsearch/error.hpp"

namespace xsearch::media {

namespace fs = std::filesystem;

namespace {

// A video's name as part of a file name: no folder separators or control characters, at most 60 bytes
// (cut before a UTF-8 continuation byte).
std::string safe_stem(const std::string& path) {
  std::string s = fs::path(path).stem().string();
  for (auto& c : s)
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  if (s.size() > 60) {
    std::size_t n = 60;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
  }
  return s.empty() ? "video" : s;
}

// Whether `name` is one that clip_file_name makes ("NNN_..."): a list that was edited by hand must not
// make us delete the user's own files.
bool our_clip_name(const std::string& name) {
  std::size_t digits = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') ++digits;
  return digits >= 3 && digits < name.size() && name[digits] == '_' && name.find('.') != std::string::npos;
}

// The clip files of DIR's previous clips.csv that may be removed: directly in DIR, named as we name them,
// plain files (never a link or a folder).
std::vector<fs::path> previous_clips(const fs::path& dir) {
  std::vector<fs::path> files;
  std::ifstream in(dir / "clips.csv", std::ios::binary);
  if (!in) return files;
  const std::string csv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& listed : listed_clip_files(csv)) {
    const fs::path p(listed);
    std::error_code ec;
    // "/out/" and "/out" are one folder: compare normalised paths of a name inside each.
    if ((p.parent_path() / "x").lexically_normal() != (dir / "x").lexically_normal() || !our_clip_name(p.filename().string())) continue;
    if (fs::symlink_status(p, ec).type() == fs::file_type::regular) files.push_back(p);
  }
  return files;
}

}  // namespace

std::string clip_file_name(const QueryHit& hit, const std::string& extension) {
  char prefix[32], times[64];
  std::snprintf(prefix, sizeof prefix, "%03d_", hit.rank);
  std::snprintf(times, sizeof times, "_%.3f-%.3f.", hit.start, hit.end);
  return prefix + safe_stem(hit.path) + times + extension;
}

std::vector<ExportedFile> export_hits(const std::vector<QueryHit>& hits, const std::string& title, const ExportOptions& options,
                                      const std::function<void(const ExportedFile&)>& on_file, std::size_t* removed) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) throw Error(options.dir.string() + ": cannot create (" + ec.message() + ")");
  const std::vector<fs::path> previous = previous_clips(options.dir);
  std::vector<ExportedFile> files;
  for (const auto& hit : hits) {
    if (options.on_start) options.on_start(files.size(), hits.size(), hit);
    ExportedFile f;
    f.rank = hit.rank;
    f.score = hit.score;
    f.source = hit.path;
    f.start = hit.start;
    f.end = hit.end;
    f.mode = options.exact ? "exact" : "copy";
    try {
      std::string format, extension;
      if (options.exact) {
        const EncoderChoice e = choose_encoder();
        format = e.format, extension = e.extension;
      } else {
        std::tie(format, extension) = copy_container(hit.path);
      }
      const fs::path file = options.dir / clip_file_name(hit, extension);
      // The cutter writes the AtomicFile's temporary file by its name; a failed cut leaves nothing.
      AtomicFile out(file);
      CutResult cut;
      if (options.exact) {
        EncodeOptions e;
        e.format = format;
        e.quality = 18;
        cut = cut_exact(hit.path, hit.start, hit.end, out.temp_path(), e);
      } else {
        cut = cut_copy(hit.path, hit.start, hit.end, out.temp_path(), format);
      }
      out.commit();
      f.file = file.string();
      f.file_start = cut.first;
      f.file_end = cut.last_end;
      f.fps = cut.fps;
      f.audio = cut.audio_streams > 0;
    } catch (const Error& e) {
      f.error = e.what();
    }
    files.push_back(f);
    if (on_file) on_file(files.back());
  }
  atomic_write(options.dir / "clips.csv", clips_csv(files));
  atomic_write(options.dir / "clips.edl", clips_edl(title, files));
  // Only now that the new list is written: an export that fails midway leaves the old one usable.
  std::size_t gone = 0;
  for (const auto& old : previous) {
    const bool kept = std::any_of(files.begin(), files.end(), [&](const ExportedFile& f) { return !f.error.empty() ? false : fs::path(f.file) == old; });
    if (!kept && fs::remove(old, ec)) ++gone;
  }
  if (removed) *removed = gone;
  return files;
}

}  // namespace xsearch::media
