// `xsearch query TEXT --open [N]` with fake players on PATH that record their arguments: the player gets
// hit N's file and segment in its own syntax, and xsearch says which player it used.
#include <sys/stat.h>

#include <cmath>
#include <sstream>

#include "library_helpers.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
using test::fs::path;
using test::quote;

namespace {

// A fake player `dir/name` that writes its arguments, one a line, to `dir/name.args`.
void fake_player(const path& dir, const std::string& name) {
  test::fs::create_directories(dir);
  test::write_file(dir / name, "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + quote((dir / (name + ".args")).string()) + "\n");
  ::chmod((dir / name).c_str(), 0755);
}

std::vector<std::string> recorded(const path& file) {
  std::istringstream in(test::read_file(file));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// xsearch with only `dir` in PATH (and `env`, e.g. "XSEARCH_PLAYER=..."), so that the host's players
// are out of reach.
test::Result run_with_path(const path& dir, const std::string& args, const std::string& env = "") {
  test::TempDir out;
  const std::string cmd = "PATH=" + quote(dir.string()) + " " + env + " " + quote(XSEARCH_BINARY) + " " + args + " >" +
                          quote((out / "out").string()) + " 2>" + quote((out / "err").string()) + " </dev/null";
  const int raw = std::system(cmd.c_str());
  test::Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = test::read_file(out / "out");
  r.err = test::read_file(out / "err");
  return r;
}

std::string secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

}  // namespace

TEST_CASE("query --open plays hit N in mpv, VLC or ffplay at its segment and says which", "[cli]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  // Clips of 2 s every 4 s: separate segments, most of them not starting at 0.
  test::make_video(videos / "a.mp4", "testsrc2", 12);
  test::make_video(videos / "b b.mp4", "smptebars", 12);
  const path db = tmp / "lib.db";
  test::run_json("ingest " + quote(videos.string()) + " --window 2 --stride 4 --db " + quote(db.string()) + test::model_arg(), 0);
  const std::string query = "query 'colour bars' -k 5 --db " + quote(db.string());
  const auto hits = test::run_json(query + " --no-thumbnails", 0)["results"];
  REQUIRE(hits.size() >= 3);
  auto hit = [&](std::size_t i) { return std::make_tuple(hits[i]["path"].get<std::string>(), hits[i]["start"].get<double>(), hits[i]["end"].get<double>()); };

  SECTION("mpv: --start and --end, hit 1 by default") {
    fake_player(tmp / "bin", "mpv");
    fake_player(tmp / "bin", "vlc");  // mpv comes first
    const test::Result r = run_with_path(tmp / "bin", query + " --open");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto [file, start, end] = hit(0);
    CHECK(recorded(tmp / "bin" / "mpv.args") == std::vector<std::string>{"--start=" + secs(start), "--end=" + secs(end), "--", file});
    CHECK(!test::fs::exists(tmp / "bin" / "vlc.args"));
    CHECK_THAT(r.err, Catch::Contains("playing hit 1 with mpv: " + file));
    CHECK_THAT(r.out, Catch::Contains(file));  // the results are printed too
  }
  SECTION("VLC: --start-time and --stop-time, hit 3") {
    fake_player(tmp / "bin", "vlc");
    fake_player(tmp / "bin", "ffplay");
    const test::Result r = run_with_path(tmp / "bin", query + " --open 3");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto [file, start, end] = hit(2);
    // --play-and-exit: VLC quits at the stop time instead of waiting on a black window.
    CHECK(recorded(tmp / "bin" / "vlc.args") ==
          std::vector<std::string>{"--play-and-exit", "--start-time=" + secs(start), "--stop-time=" + secs(end), file});
    CHECK_THAT(r.err, Catch::Contains("playing hit 3 with vlc"));
  }
  SECTION("ffplay: -ss and -t") {
    fake_player(tmp / "bin", "ffplay");
    fake_player(tmp / "bin", "xdg-open");
    const test::Result r = run_with_path(tmp / "bin", query + " --open 2");
    REQUIRE(r.status == 0);
    const auto [file, start, end] = hit(1);
    // -autoexit: ffplay quits at the end of the segment; no banner or decoder chatter on the terminal.
    CHECK(recorded(tmp / "bin" / "ffplay.args") == std::vector<std::string>{"-autoexit", "-hide_banner", "-loglevel", "error", "-ss", secs(start),
                                                                             "-t", secs(end - start), file});
    CHECK_THAT(r.err, Catch::Contains("playing hit 2 with ffplay"));
  }
  SECTION("else the desktop's opener, which starts at the beginning, and says so") {
    fake_player(tmp / "bin", "xdg-open");
    const test::Result r = run_with_path(tmp / "bin", query + " --open=2");
    REQUIRE(r.status == 0);
    const auto [file, start, end] = hit(1);
    CHECK(recorded(tmp / "bin" / "xdg-open.args") == std::vector<std::string>{file});
    CHECK_THAT(r.err, Catch::Contains("playing hit 2 with xdg-open") && Catch::Contains("from the beginning"));
  }
  SECTION("XSEARCH_PLAYER picks the player") {
    fake_player(tmp / "bin", "mpv");
    fake_player(tmp / "other", "vlc");
    const test::Result r = run_with_path(tmp / "bin", query + " --open", "XSEARCH_PLAYER=" + quote((tmp / "other" / "vlc").string()));
    REQUIRE(r.status == 0);
    CHECK(test::fs::exists(tmp / "other" / "vlc.args"));
    CHECK(!test::fs::exists(tmp / "bin" / "mpv.args"));
  }
  SECTION("no player, or no such hit, is an error") {
    test::fs::create_directories(tmp / "empty");
    const test::Result none = run_with_path(tmp / "empty", query + " --open");
    CHECK(none.status == 2);
    CHECK_THAT(none.err, Catch::Contains("no video player found"));
    fake_player(tmp / "bin", "mpv");
    const test::Result far = run_with_path(tmp / "bin", query + " --open 99");
    CHECK(far.status == 2);
    CHECK_THAT(far.err, Catch::Contains("--open 99: there are " + std::to_string(hits.size()) + " results"));
    CHECK(!test::fs::exists(tmp / "bin" / "mpv.args"));
    CHECK(run_with_path(tmp / "bin", query + " --open 0").status == 2);
  }
}

TEST_CASE("query --open plays a segment from its best clip, and says where the segment starts", "[cli]") {
  // Known scores without a model: --like searches with a stored vector. The video's three clips touch and
  // form one segment (0-12 s) whose best clip is the middle one (4-8 s).
  test::TempDir tmp;
  const path file = tmp / "videos" / "three clips.mp4";
  test::fs::create_directories(file.parent_path());
  test::write_file(file, "");  // present on disk (not offline); the fake player never reads it
  {
    Library lib = Library::open(tmp / "lib.db", true);
    lib.claim_model({"m", "fp", 3});
    VideoRecord source;
    source.path = (tmp / "source.mp4").string();
    source.fingerprint = "source";
    lib.save_video(source, {{0, 4, {1, 0, 0}, {}}});
    VideoRecord v;
    v.path = file.string();
    v.fingerprint = "three";
    auto at = [](float c) { return std::vector<float>{c, std::sqrt(1 - c * c), 0}; };
    lib.save_video(v, {{0, 4, at(0.5f), {}}, {4, 8, at(0.9f), {}}, {8, 12, at(0.7f), {}}});
    lib.rebuild_index();
  }
  fake_player(tmp / "bin", "mpv");
  const test::Result r = run_with_path(tmp / "bin", "query --like " + quote((tmp / "source.mp4").string()) + " --open 2 --db " +
                                                        quote((tmp / "lib.db").string()));
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(recorded(tmp / "bin" / "mpv.args") == std::vector<std::string>{"--start=4.000", "--end=12.000", "--", file.string()});
  CHECK_THAT(r.err, Catch::Contains("playing hit 2 with mpv: " + file.string() + " at 0:04.0-0:12.0 (its best moment; segment 0:00.0-0:12.0)"));
}
