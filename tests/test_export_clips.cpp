// `xsearch export --query TEXT --clips DIR [--exact]`: each hit cut into a file, probed frame by frame. The
// video is "numbered" (frame N has luma 16 + 2N, 10 frames per second, a keyframe every second) and
// indexed in 1.25 s clips every 2.5 s, so the hits are separate segments starting between keyframes.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "media/clip_lists.hpp"
#include "media_probe.hpp"
#include "library_helpers.hpp"

using namespace xsearch;
using test::fs::path;
using test::quote;

namespace {

constexpr int kRate = 10;

struct Row {
  int rank = 0;
  std::string source, clip, mode;
  double start = 0, end = 0, clip_start = 0, clip_end = 0;
};

// clips.csv (no field here needs quoting).
std::vector<Row> read_csv(const path& file) {
  std::istringstream in(test::read_file(file));
  std::string line;
  std::getline(in, line);
  CHECK(line == "rank,score,source,start,end,clip,clip_start,clip_end,mode\r");
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    REQUIRE(f.size() == 9);
    rows.push_back({std::stoi(f[0]), f[2], f[5], f[8], std::stod(f[3]), std::stod(f[4]), std::stod(f[6]), std::stod(f[7])});
  }
  return rows;
}

struct Exported {
  std::vector<Row> rows;
  std::string edl;
};

Exported export_clips(const path& db, const path& dir, const std::string& flags) {
  const test::Result r = test::xsearch_run("export --query 'a grey picture' -k 3 --db " + quote(db.string()) + " --clips " + quote(dir.string()) + flags);
  INFO(r.err);
  REQUIRE(r.status == 0);
  Exported e{read_csv(dir / "clips.csv"), test::read_file(dir / "clips.edl")};
  REQUIRE(e.rows.size() == 3);
  // stdout lists the files, one a line, in rank order.
  std::string listed;
  for (const auto& row : e.rows) listed += row.clip + "\n";
  CHECK(r.out == listed);
  return e;
}

}  // namespace

TEST_CASE("export --clips cuts each hit from its keyframe, and --exact to the frame, with CSV and EDL lists", "[cli]") {
  test::TempDir tmp;
  const path video = tmp / "videos" / "numbered.mp4";
  test::make_numbered_video(video, 11, kRate, "-c:v libx264 -g 10 -keyint_min 10 -sc_threshold 0 -bf 2 -crf 8 -pix_fmt yuv420p");
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote(video.string()) + " --window 1.25 --stride 2.5 --db " + quote(db.string()) + test::model_arg(), 0);
  const test::Probed source = test::probe_media(video);
  REQUIRE(source.frames.size() == 110);

  SECTION("stream copy: start and duration within one GOP") {
    const Exported e = export_clips(db, tmp / "copy", "");
    bool between_keyframes = false;
    for (const auto& row : e.rows) {
      INFO(row.clip << " for " << row.start << "-" << row.end);
      CHECK(row.source == video.string());
      CHECK(row.mode == "copy");
      CHECK(path(row.clip).parent_path() == tmp / "copy");
      CHECK(path(row.clip).extension() == ".mp4");
      const test::Probed p = test::probe_media(row.clip);
      REQUIRE(!p.frames.empty());
      CHECK(p.video_codec == "h264");
      // It starts at the keyframe at or before the segment (whole seconds here), within one GOP of it.
      const int first = p.source_frame(0);
      CHECK(first == static_cast<int>(std::floor(row.start)) * kRate);
      CHECK(row.start - first / double(kRate) < 1.0 + 1e-9);
      CHECK(row.clip_start == Approx(first / double(kRate)));
      // It holds every frame up to the segment's end, ending within one GOP after it.
      const int last = p.source_frame(p.frames.size() - 1);
      CHECK(last >= static_cast<int>(std::ceil(row.end * kRate)) - 1);
      CHECK((last + 1) / double(kRate) - row.end < 1.0 + 1e-9);
      CHECK(p.duration == Approx(row.clip_end - row.clip_start).margin(1.0 / kRate));
      CHECK(std::fabs(p.duration - (row.end - row.start)) < 2.0);  // a GOP at each end, at most
      if (std::fmod(row.start, 1.0) > 1e-6) between_keyframes = true;
    }
    CHECK(between_keyframes);  // at least one hit started between keyframes (2.5 s, 7.5 s)
  }
  SECTION("exact: the segment's frames, start and duration within one frame") {
    const Exported e = export_clips(db, tmp / "exact", " --exact");
    for (const auto& row : e.rows) {
      INFO(row.clip << " for " << row.start << "-" << row.end);
      CHECK(row.mode == "exact");
      const test::Probed p = test::probe_media(row.clip);
      REQUIRE(!p.frames.empty());
      // The first frame is the first at or after the start: less than one frame after it.
      const int first = p.source_frame(0);
      CHECK(first == static_cast<int>(std::ceil(row.start * kRate - 1e-6)));
      CHECK(first / double(kRate) - row.start < 1.0 / kRate);
      CHECK(p.frames.front().time == Approx(0).margin(1e-6));
      // Every frame of [start, end), in order, and the duration within one frame.
      std::vector<int> expected, got;
      for (std::size_t i = 0; i < source.frames.size(); ++i)
        if (source.frames[i].time >= row.start - 1e-6 && source.frames[i].time < row.end - 1e-6) expected.push_back(source.source_frame(i));
      for (std::size_t i = 0; i < p.frames.size(); ++i) got.push_back(p.source_frame(i));
      CHECK(got == expected);
      CHECK(std::fabs(p.duration - (row.end - row.start)) <= 1.0 / kRate + 1e-6);
    }
    // The EDL: one event per clip on a timeline from 01:00:00:00, named after the clip files.
    CHECK_THAT(e.edl, Catch::StartsWith("TITLE: xsearch: a grey picture\r\nFCM: NON-DROP FRAME\r\n"));
    CHECK_THAT(e.edl, Catch::Contains("001  AX       V     C        00:00:00:00 00:00:01:03 01:00:00:00 01:00:01:03\r\n") ||
                          Catch::Contains("001  AX       V     C        00:00:00:00 00:00:01:02 01:00:00:00 01:00:01:02\r\n") ||
                          Catch::Contains("001  AX       V     C        00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00\r\n"));
    for (const auto& row : e.rows) CHECK_THAT(e.edl, Catch::Contains("* FROM CLIP NAME: " + path(row.clip).filename().string() + "\r\n"));
  }
}

TEST_CASE("EDL timecodes count frames at the clip's rate", "[media]") {
  CHECK(media::timecode(0, 25) == "00:00:00:00");
  CHECK(media::timecode(3661.5, 25) == "01:01:01:13");  // 12.5 frames rounds to 13
  CHECK(media::timecode(1.0, 29.97) == "00:00:01:00");  // frame 30 (29.97 rounded), counted in base 30 (NDF)
  media::ExportedFile f;
  f.rank = 1, f.source = "/v/a,b.mp4", f.start = 2.5, f.end = 3.75, f.file = "/out/001_a.mp4", f.file_start = 2.0, f.file_end = 4.0, f.fps = 10;
  f.mode = "copy";
  media::ExportedFile failed = f;
  failed.error = "broken";
  const std::string edl = media::clips_edl("dogs\nand cats", {f, failed});
  // The copied clip starts at its keyframe (2.0 s): the event plays from 0.5 s into it.
  CHECK(edl == "TITLE: dogs and cats\r\nFCM: NON-DROP FRAME\r\n\r\n"
               "001  AX       V     C        00:00:00:05 00:00:01:08 01:00:00:00 01:00:01:03\r\n"
               "* FROM CLIP NAME: 001_a.mp4\r\n* SOURCE FILE: /v/a,b.mp4\r\n\r\n");
  CHECK(media::clips_csv({f, failed}) == "rank,score,source,start,end,clip,clip_start,clip_end,mode\r\n"
                                          "1,0.000000,\"/v/a,b.mp4\",2.500,3.750,/out/001_a.mp4,2.000,4.000,copy\r\n");
}

TEST_CASE("export --query lists: a source with a comma or a quote is one CSV field, and each EDL event follows the one before", "[media]") {
  media::ListedHit a;
  a.rank = 1, a.score = 0.5, a.source = "/v/a,\"b\".mp4", a.start = 2.5, a.end = 3.75, a.peak = 3, a.peak_score = 0.5, a.fps = 10;
  media::ListedHit b = a;
  b.rank = 2, b.source = "/v/c.mp4", b.start = 10, b.end = 12, b.peak = 10;
  CHECK(media::hits_csv({a}) == "rank,score,source,start,end,peak,peak_score\r\n"
                                "1,0.500000,\"/v/a,\"\"b\"\".mp4\",2.500,3.750,3.000,0.500000\r\n");
  // The first event takes 1.3 s of the timeline (frames 25 to 38 at 10 fps): the second starts there.
  const std::string edl = media::hits_edl("t", {a, b});
  CHECK_THAT(edl, Catch::Contains("001  AX       V     C        00:00:02:05 00:00:03:08 01:00:00:00 01:00:01:03\r\n"));
  CHECK_THAT(edl, Catch::Contains("002  AX       V     C        00:00:10:00 00:00:12:00 01:00:01:03 01:00:03:03\r\n"));
}

TEST_CASE("export --clips into a used folder replaces its list and removes only the files that list named", "[cli]") {
  test::TempDir tmp;
  const path video = tmp / "videos" / "numbered.mp4";
  test::make_numbered_video(video, 11, kRate, "-c:v libx264 -g 10 -pix_fmt yuv420p");
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote(video.string()) + " --window 1.25 --stride 2.5 --db " + quote(db.string()) + test::model_arg(), 0);
  const path dir = tmp / "cuts";
  const std::string base = "export --query 'a grey picture' --db " + quote(db.string()) + " --clips " + quote(dir.string());
  const test::Result first = test::xsearch_run(base + " -k 3");
  INFO(first.err);
  REQUIRE(first.status == 0);
  const auto first_rows = read_csv(dir / "clips.csv");
  REQUIRE(first_rows.size() == 3);
  // The user's own files in the folder, one of them named like ours but not in the list.
  test::write_file(dir / "notes.txt", "mine");
  test::write_file(dir / "007_mine.mp4", "mine too");
  const test::Result second = test::xsearch_run(base + " -k 1");
  INFO(second.err);
  REQUIRE(second.status == 0);
  const auto rows = read_csv(dir / "clips.csv");
  REQUIRE(rows.size() == 1);
  CHECK(test::fs::exists(rows[0].clip));
  for (const auto& old : first_rows)
    if (old.clip != rows[0].clip) CHECK_FALSE(test::fs::exists(old.clip));
  CHECK(test::read_file(dir / "notes.txt") == "mine");
  CHECK(test::read_file(dir / "007_mine.mp4") == "mine too");
  CHECK_THAT(second.err, Catch::Contains("removed 2 clip files of the previous export there"));
  std::size_t entries = 0;
  for (const auto& e : test::fs::directory_iterator(dir)) entries += e.is_regular_file() ? 1 : 0;
  CHECK(entries == 5);  // the clip, clips.csv, clips.edl and the user's two files

  // A list edited by hand: a file named like ours but in another folder, and one in this folder whose name
  // is not one we make (one digit), both listed. Neither is ours to remove.
  const path elsewhere = tmp / "elsewhere" / "001_numbered_0.000-1.250.mp4";
  test::fs::create_directories(elsewhere.parent_path());
  test::write_file(elsewhere, "theirs");
  test::write_file(dir / "1_take.mp4", "mine as well");
  std::string csv = test::read_file(dir / "clips.csv");
  csv += "2,0.5,/v/x.mp4,0.000,1.000," + elsewhere.string() + ",0.000,1.000,copy\r\n";
  csv += "3,0.5,/v/x.mp4,0.000,1.000," + (dir / "1_take.mp4").string() + ",0.000,1.000,copy\r\n";
  test::write_file(dir / "clips.csv", csv);
  const test::Result third = test::xsearch_run(base + " -k 1");
  INFO(third.err);
  REQUIRE(third.status == 0);
  CHECK(test::read_file(elsewhere) == "theirs");
  CHECK(test::read_file(dir / "1_take.mp4") == "mine as well");
}

TEST_CASE("export --query lists hits as CSV or EDL without cutting, with --path and --min-score, and shows progress on a terminal", "[cli]") {
  test::TempDir tmp;
  const path video = tmp / "videos" / "numbered.mp4";
  test::make_numbered_video(video, 11, kRate, "-c:v libx264 -g 10 -pix_fmt yuv420p");
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote(video.string()) + " --window 1.25 --stride 2.5 --db " + quote(db.string()) + test::model_arg(), 0);
  const std::string query = "export --query 'a grey picture' -k 2 --db " + quote(db.string());
  const test::Result csv = test::xsearch_run(query + " --csv");
  INFO(csv.err);
  REQUIRE(csv.status == 0);
  CHECK_THAT(csv.out, Catch::StartsWith("rank,score,source,start,end,peak,peak_score\r\n1,"));
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 3);
  CHECK_THAT(csv.out, Catch::Contains("," + video.string() + ","));
  const test::Result edl = test::xsearch_run(query + " --edl");
  REQUIRE(edl.status == 0);
  CHECK_THAT(edl.out, Catch::StartsWith("TITLE: xsearch: a grey picture\r\nFCM: NON-DROP FRAME\r\n"));
  CHECK_THAT(edl.out, Catch::Contains("* SOURCE FILE: " + video.string()) && Catch::Contains("* FROM CLIP NAME: numbered.mp4"));
  // The same filters as query.
  const test::Result elsewhere = test::xsearch_run(query + " --csv --path '*/other/*'");
  CHECK(elsewhere.status == 1);
  CHECK_THAT(elsewhere.err, Catch::Contains("no results: --path '*/other/*' matches no video"));
  CHECK(test::xsearch_run(query + " --min-score 1.5").status == 1);
  CHECK(test::xsearch_run(query + " --path numbered").status == 0);
  // Progress on a terminal (script(1) gives the command one), not when stderr is a file.
  const path dir = tmp / "cuts";
  const std::string cut = quote(XSEARCH_BINARY) + " " + query + " --clips " + quote(dir.string());
  test::TempDir out;
  const int raw = std::system(("script -qec " + quote(cut + " --exact") + " /dev/null > " + quote((out / "tty").string()) + " 2>&1").c_str());
  CHECK(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 0);
  CHECK_THAT(test::read_file(out / "tty"), Catch::Contains("cutting 1/2 (exact): numbered.mp4") && Catch::Contains("cutting 2/2"));
  const test::Result piped = test::xsearch_run(query + " --clips " + quote(dir.string()));
  CHECK_THAT(piped.err, !Catch::Contains("cutting"));
  const test::Result quiet = test::xsearch_run(query + " --clips " + quote(dir.string()) + " --quiet");
  CHECK(quiet.err.empty());
}
