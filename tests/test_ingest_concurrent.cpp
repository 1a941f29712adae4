// Two ingests on one library at once: the writer lock (library branch) makes the second wait, so each
// video is embedded once.
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

using namespace xsearch::test;
namespace fs = std::filesystem;

TEST_CASE("two ingests of one folder at once embed each video once", "[cli][index]") {
  TempDir tmp;
  const char* sources[] = {"testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc", "yuvtestsrc"};
  for (int i = 0; i < 6; ++i) make_video(tmp / "videos" / ("v" + std::to_string(i) + ".mp4"), sources[i], 12);
  const auto db = tmp / "lib.db";
  const std::string ingest = "exec " + quote(XSEARCH_BINARY) + " ingest " + quote((tmp / "videos").string()) + " --db " +
                             quote(db.string()) + model_arg() + " --batch 2 --json";
  // Both start on a library that does not exist yet: its creation must not race either.
  const pid_t a = spawn_shell(ingest + " >" + quote((tmp / "a.json").string()) + " 2>" + quote((tmp / "a.err").string()));
  const pid_t b = spawn_shell(ingest + " >" + quote((tmp / "b.json").string()) + " 2>" + quote((tmp / "b.err").string()));
  const ChildEnd end_a = wait_child(a), end_b = wait_child(b);
  INFO("a: " << read_file(tmp / "a.err") << "\nb: " << read_file(tmp / "b.err"));
  REQUIRE(end_a.status == 0);
  REQUIRE(end_b.status == 0);
  const auto sa = nlohmann::json::parse(read_file(tmp / "a.json")), sb = nlohmann::json::parse(read_file(tmp / "b.json"));
  CHECK(sa["indexed"].get<int>() + sb["indexed"].get<int>() == 6);
  CHECK(sa["unchanged"].get<int>() + sb["unchanged"].get<int>() == 6);
  CHECK(sa["clips"].get<int>() + sb["clips"].get<int>() == 18);
  CHECK(sqlite_value(db, "SELECT count(*) FROM clips") == "18");  // 12 s: three 4 s clips each
  // Ids only grow and none was replaced: every clip was written once.
  CHECK(sqlite_value(db, "SELECT max(id) FROM clips") == "18");
  CHECK(sqlite_value(db, "SELECT count(*) FROM (SELECT video_id FROM clips GROUP BY video_id HAVING count(*) != 3)") == "0");
}
