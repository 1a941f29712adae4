// Segment renditions for the browser (media/rendition.hpp): cut_exact into the media cache, one maker per
// file at a time, written under a temporary name and renamed into place.
#include "media/rendition.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "io/atomic_file.hpp"
#include "media/encoder_choice.hpp"
#include "xsearch/error.hpp"
#include "xsearch/media_cache.hpp"

namespace xsearch::media {

namespace {

// One mutex per rendition file: a browser asks for the same video several times at once (ranges).
std::shared_ptr<std::mutex> lock_for(const std::string& key) {
  static std::mutex guard;
  static std::map<std::string, std::weak_ptr<std::mutex>> locks;
  std::lock_guard<std::mutex> g(guard);
  auto& slot = locks[key];
  auto m = slot.lock();
  if (!m) {
    m = std::make_shared<std::mutex>();
    slot = m;
  }
  return m;
}

}  // namespace

EncodeOptions rendition_settings() {
  EncodeOptions o;
  o.max_height = 720;
  o.square_pixels = true;
  o.quality = 23;
  o.preset = "ultrafast";  // a local preview: speed before size (about 2.3x faster than veryfast at 720p)
  o.gop_seconds = 1;
  o.browser_audio_only = true;
  return o;
}

Rendition segment_rendition(const Library& library, const ClipRow& first, const ClipRow& last) {
  namespace fs = std::filesystem;
  if (first.video_id != last.video_id || !(first.start < last.end))
    throw Error("rendition: clips " + std::to_string(first.id) + " and " + std::to_string(last.id) + " are not one segment");
  const EncoderChoice encoder = choose_encoder();
  Rendition r;
  r.mime = encoder.mime;
  r.start = first.start;
  r.end = std::min(last.end, first.start + kMaxRenditionSeconds);
  // A segment cut at the limit is the same picture whatever its last clip: one file ("FIRST-0"; clip ids
  // start at 1), so that the renditions a video can have stay about (limit / clip length) per clip, not
  // one per pair of its clips.
  const int64_t last_key = last.end > first.start + kMaxRenditionSeconds ? 0 : last.id;
  r.file = rendition_path(library.media_base(), first.video_id, first.id, last_key, encoder.extension);

  const auto lock = lock_for(r.file.string());
  std::lock_guard<std::mutex> hold(*lock);
  std::error_code ec;
  if (fs::is_regular_file(r.file, ec) && fs::file_size(r.file, ec) > 0) {
    r.from_cache = true;
    return r;
  }
  fs::create_directories(r.file.parent_path(), ec);
  if (ec) throw Error(r.file.parent_path().string() + ": cannot create (" + ec.message() + ")");
  // The encoder writes the AtomicFile's temporary file by its name; commit() syncs and renames it, and
  // a failed encode leaves nothing behind.
  AtomicFile out(r.file);
  EncodeOptions options = rendition_settings();
  options.encoder = encoder.encoder;
  options.format = encoder.format;
  const auto t0 = std::chrono::steady_clock::now();
  // One encode at a time: each uses every core already, and the server's other threads must stay free
  // for queries and thumbnails.
  static std::mutex one_encode;
  std::lock_guard<std::mutex> encoding(one_encode);
  cut_exact(first.path, r.start, r.end, out.temp_path(), options);
  r.seconds_to_make = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.commit();
  // As for thumbnails: a clip gone meanwhile means its folder was (or is about to be) dropped.
  if (library.clips_by_id({first.id}).empty()) {
    fs::remove(r.file, ec);
    throw Error("clip " + std::to_string(first.id) + ": no longer in the library");
  }
  return r;
}

}  // namespace xsearch::media
