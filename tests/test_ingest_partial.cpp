// Damaged files are partial, not complete: needs VideoReader::read_error() from the video branch.
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

using namespace xsearch::test;
namespace fs = std::filesystem;

TEST_CASE("a file cut short is stored as partial up to its last good frame, reported, and retried", "[cli][index][video]") {
  TempDir tmp;
  // Fragmented MP4 (moof per second), as a recorder or a download in progress leaves it: readable up to
  // where it stops.
  fs::create_directories(tmp / "videos");
  ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=15 -t 20 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "
         "-movflags frag_keyframe+empty_moov -g 15 " + quote((tmp / "full.mp4").string()));
  const std::string bytes = read_file(tmp / "full.mp4");
  write_file(tmp / "videos" / "cut.mp4", bytes.substr(0, bytes.size() / 2));
  make_video(tmp / "videos" / "fine.mp4", "mandelbrot", 8);
  const auto db = tmp / "lib.db";
  const std::string ingest = "ingest " + quote((tmp / "videos").string()) + " --db " + quote(db.string());
  const Result r = xsearch_run(ingest + model_arg() + " --json");
  INFO(r.err);
  CHECK(r.status == 3);  // completed, with a file problem
  CHECK_THAT(r.err, Catch::Contains((tmp / "videos" / "cut.mp4").string() + ": partial"));
  const auto s = nlohmann::json::parse(r.out);
  CHECK(s["indexed"] == 2);
  CHECK(s["partial"] == 1);
  REQUIRE(s["partials"].size() == 1);
  CHECK(s["partials"][0]["path"] == (tmp / "videos" / "cut.mp4").string());
  CHECK(sqlite_value(db, "SELECT status FROM videos WHERE path LIKE '%cut.mp4'") == "partial");
  CHECK(sqlite_value(db, "SELECT status FROM videos WHERE path LIKE '%fine.mp4'") == "indexed");
  // About 10 of 20 s survive: two or three 4 s clips, never the five of the whole file, and none past
  // the last good frame.
  const int clips = std::atoi(sqlite_value(db, "SELECT count(*) FROM clips WHERE video_id = (SELECT id FROM videos WHERE path LIKE '%cut.mp4')").c_str());
  CHECK(clips >= 1);
  CHECK(clips < 5);
  CHECK(std::atof(sqlite_value(db, "SELECT max(end) FROM clips WHERE video_id = (SELECT id FROM videos WHERE path LIKE '%cut.mp4')").c_str()) < 12.0);

  // Unchanged size and mtime: decoded again all the same (only the partial one).
  const auto again = nlohmann::json::parse(xsearch_run(ingest + " --json").out);
  CHECK(again["indexed"] == 1);
  CHECK(again["unchanged"] == 1);
  CHECK(again["partial"] == 1);
  // The download completes: a complete video.
  write_file(tmp / "videos" / "cut.mp4", bytes);
  const auto done = run_json(ingest, 0);
  CHECK(done["partial"] == 0);
  CHECK(sqlite_value(db, "SELECT status FROM videos WHERE path LIKE '%cut.mp4'") == "indexed");
  CHECK(sqlite_value(db, "SELECT count(*) FROM clips WHERE video_id = (SELECT id FROM videos WHERE path LIKE '%cut.mp4')") == "5");
}
