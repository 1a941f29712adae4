// The media cache (`<db>.thumbs/<video>/`) keeps in step with the library: ingest fills it, `query --json`
// points at each hit's thumbnail (made when missing), `remove` and re-ingesting a changed video drop that video's thumbnails and renditions,
// and nothing else is ever deleted (other names, subfolders, symbolic links and what they point to).
#include <unistd.h>

#include "library_helpers.hpp"
#include "media/rendition.hpp"
#include "media/thumbnail.hpp"
#include "media_probe.hpp"
#include "xsearch/library.hpp"
#include "xsearch/media_cache.hpp"

using namespace xsearch;
using test::fs::path;
using test::quote;

namespace {

void put(const path& p, const std::string& bytes) {
  test::fs::create_directories(p.parent_path());
  test::write_file(p, bytes);
}

bool is_jpeg(const path& p) {
  const std::string j = test::read_file(p);
  return j.size() > 100 && static_cast<uint8_t>(j[0]) == 0xFF && static_cast<uint8_t>(j[1]) == 0xD8;
}

// path -> (video id, peak clip id) of a query's results, checking that each thumbnail (the peak clip's) is there.
std::map<std::string, std::pair<int64_t, int64_t>> query_thumbnails(const path& db, const path& thumbs) {
  const auto q = test::run_json("query 'a test pattern' -k 10 --db " + quote(db.string()), 0);
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  for (const auto& r : q["results"]) {
    const int64_t video = r["video_id"], clip = r["peak_clip_id"];
    INFO(r.dump());
    REQUIRE(r["thumbnail"].is_string());
    const path file = r["thumbnail"].get<std::string>();
    CHECK(file.is_absolute());
    CHECK(file == test::fs::absolute(thumbs / std::to_string(video) / (std::to_string(clip) + ".jpg")));
    CHECK(is_jpeg(file));
    out[r["path"]] = {video, clip};
  }
  return out;
}

}  // namespace

TEST_CASE("the media cache recognises only its own file names", "[index]") {
  CHECK(is_media_cache_name("12.jpg"));
  CHECK(is_media_cache_name("12-14.mp4"));
  CHECK(is_media_cache_name("12-14.webm"));
  CHECK(is_media_cache_name("12.jpg.tmp.345.0"));
  CHECK(is_media_cache_name("12-14.mp4.tmp.345.7"));
  CHECK(is_media_cache_name("12-14.mp4.build-host.345.0123456789abcdef.tmp"));  // io/atomic_file.hpp
  CHECK_FALSE(is_media_cache_name("12-14.mp4.build.host.345.0123456789abcdef.tmp"));
  CHECK_FALSE(is_media_cache_name("notes.txt"));
  CHECK_FALSE(is_media_cache_name("12.jpeg"));
  CHECK_FALSE(is_media_cache_name("../12.jpg"));
  CHECK_FALSE(is_media_cache_name("x12.jpg"));
  CHECK_FALSE(is_media_cache_name("12.mp4"));
  CHECK(thumbnail_path("/l/lib.db", 3, 17) == path("/l/lib.db.thumbs/3/17.jpg"));
  CHECK(rendition_path("/l/lib.db", 3, 17, 19, "mp4") == path("/l/lib.db.thumbs/3/17-19.mp4"));
}

TEST_CASE("remove and re-ingest drop a video's thumbnails and renditions and nothing else", "[cli]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  test::make_video(videos / "a.mp4", "testsrc2", 8);
  test::make_video(videos / "b.mp4", "testsrc", 8);
  test::make_video(videos / "c.mp4", "smptebars", 8);
  const path db = tmp / "lib.db";
  const path thumbs = tmp / "lib.db.thumbs";
  test::run_json("ingest " + quote(videos.string()) + " --db " + quote(db.string()) + test::model_arg(), 0);
  {
    // Ingest made every clip's thumbnail from the frames it decoded.
    const Library lib = Library::open(db, false);
    for (const auto& v : lib.videos())
      for (const auto& c : lib.clips_of_video(v.id)) CHECK(is_jpeg(thumbnail_path(db, v.id, c.id)));
  }
  test::fs::remove_all(thumbs);

  // query --json makes each hit's missing thumbnail (the light xsearch has xsearch-media make it) and
  // says where it is.
  auto hits = query_thumbnails(db, thumbs);
  REQUIRE(hits.size() == 3);
  const auto [a_video, a_clip] = hits.at((videos / "a.mp4").string());
  const auto [b_video, b_clip] = hits.at((videos / "b.mp4").string());
  const auto [c_video, c_clip] = hits.at((videos / "c.mp4").string());
  const path a_dir = thumbs / std::to_string(a_video), b_dir = thumbs / std::to_string(b_video);

  // Every thumbnail, and a rendition of a's first clip.
  const auto all = test::xsearch_run("thumbnails --all --db " + quote(db.string()));
  REQUIRE(all.status == 0);
  const Library lib = Library::open(db, false);
  const auto a_clips = lib.clips_of_video(a_video);
  REQUIRE(a_clips.size() >= 2);
  const path rendition = media::segment_rendition(lib, a_clips[0], a_clips[1]).file;
  REQUIRE(test::fs::exists(rendition));
  CHECK(rendition.parent_path() == a_dir);
  for (const auto& c : a_clips) CHECK(test::fs::exists(thumbnail_path(db, a_video, c.id)));

  // What must survive: other names, a subfolder, a link (and its target), files outside the cache.
  put(a_dir / "notes.txt", "mine");
  put(a_dir / "sub" / "1.jpg", "mine");
  put(tmp / "outside.jpg", "mine");
  test::fs::create_symlink(tmp / "outside.jpg", a_dir / "999999.jpg");
  put(thumbs / "keep.txt", "mine");
  put(tmp / "lib.db.thumbs.bak" / std::to_string(a_video) / (std::to_string(a_clip) + ".jpg"), "mine");
  // c's folder is a link to a folder elsewhere: dropping c leaves that folder's files alone.
  const std::string c_name = std::to_string(c_clip) + "-" + std::to_string(c_clip) + ".mp4";
  put(tmp / "elsewhere" / c_name, "mine");
  test::fs::remove_all(thumbs / std::to_string(c_video));
  test::fs::create_directory_symlink(tmp / "elsewhere", thumbs / std::to_string(c_video));

  SECTION("remove") {
    REQUIRE(test::xsearch_run("remove " + quote((videos / "a.mp4").string()) + " --db " + quote(db.string())).status == 0);
    REQUIRE(test::xsearch_run("remove " + quote((videos / "c.mp4").string()) + " --db " + quote(db.string())).status == 0);
    for (const auto& c : a_clips) CHECK(!test::fs::exists(thumbnail_path(db, a_video, c.id)));
    CHECK(!test::fs::exists(rendition));
    CHECK(test::read_file(a_dir / "notes.txt") == "mine");
    CHECK(test::read_file(a_dir / "sub" / "1.jpg") == "mine");
    CHECK(test::fs::is_symlink(a_dir / "999999.jpg"));
    CHECK(test::read_file(tmp / "outside.jpg") == "mine");
    CHECK(test::read_file(thumbs / "keep.txt") == "mine");
    CHECK(test::fs::exists(tmp / "lib.db.thumbs.bak" / std::to_string(a_video) / (std::to_string(a_clip) + ".jpg")));
    CHECK(test::read_file(tmp / "elsewhere" / c_name) == "mine");
    CHECK(test::fs::exists(thumbnail_path(db, b_video, b_clip)));  // the other video's stay
  }
  SECTION("re-ingest of a changed video") {
    const auto b_clips = lib.clips_of_video(b_video);
    test::make_video(videos / "b.mp4", "mandelbrot", 6);
    test::run_json("ingest " + quote(videos.string()) + " --db " + quote(db.string()) + test::model_arg(), 0);
    for (const auto& c : b_clips) CHECK(!test::fs::exists(thumbnail_path(db, b_video, c.id)));
    for (const auto& c : a_clips) CHECK(test::fs::exists(thumbnail_path(db, a_video, c.id)));  // unchanged: kept
    CHECK(test::fs::exists(rendition));
    const auto again = query_thumbnails(db, thumbs);  // the changed video's new clips get new thumbnails
    CHECK(again.at((videos / "b.mp4").string()).first == b_video);
    CHECK(again.at((videos / "b.mp4").string()).second != b_clip);
  }
}

TEST_CASE("a clip's thumbnail shows the clip's middle, not its first frame", "[media]") {
  test::TempDir tmp;
  // Frame N is flat grey at luma 16 + 2N, 10 per second: the clip 2-4 s starts at frame 20, its middle is 30.
  const path video = tmp / "numbered.mp4";
  test::make_numbered_video(video, 6, 10, "-c:v libx264 -g 10 -pix_fmt yuv420p");
  const path db = tmp / "lib.db";
  {
    Library lib = Library::open(db, true);
    lib.claim_model({"m", "fp", 3});
    VideoRecord r;
    r.path = video.string();
    r.fingerprint = "numbered";
    lib.save_video(r, {{2.0, 4.0, {1, 0, 0}, {}}});
  }
  const Library lib = Library::open(db, false);
  const auto clips = lib.clips_of_video(lib.videos().at(0).id);
  REQUIRE(clips.size() == 1);
  const std::string jpeg = media::clip_thumbnail(lib, clips[0]).jpeg;
  CHECK(jpeg == media::make_thumbnail_jpeg(video, 3.0));
  CHECK(jpeg != media::make_thumbnail_jpeg(video, 2.0));
}
