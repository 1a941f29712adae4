// `xsearch query TEXT --open [N]` with fake players on PATH that record their arguments: the player gets
// hit N's file and segment in its own syntax, and xsearch says which player it used.
#include <sys/stat.h>

#include <sstream>

#include "library_helpers.hpp"

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
    CHECK(recorded(tmp / "bin" / "vlc.args") == std::vector<std::string>{"--start-time=" + secs(start), "--stop-time=" + secs(end), file});
    CHECK_THAT(r.err, Catch::Contains("playing hit 3 with vlc"));
  }
  SECTION("ffplay: -ss and -t") {
    fake_player(tmp / "bin", "ffplay");
    fake_player(tmp / "bin", "xdg-open");
    const test::Result r = run_with_path(tmp / "bin", query + " --open 2");
    REQUIRE(r.status == 0);
    const auto [file, start, end] = hit(1);
    CHECK(recorded(tmp / "bin" / "ffplay.args") == std::vector<std::string>{"-ss", secs(start), "-t", secs(end - start), file});
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
