// `classify --per-clip` streams: its peak memory does not grow with the video's length.
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

using namespace xsearch::test;

TEST_CASE("classify --per-clip holds one clip at a time: peak memory does not grow with the video's length", "[cli][video]") {
  TempDir tmp;
  // 2 frames/s is enough for 8 frames per 4 s window and keeps the videos quick to make.
  make_video(tmp / "short.mp4", "testsrc", 30, "", 2);
  make_video(tmp / "long.mp4", "testsrc", 300, "", 2);
  auto peak_kb = [&](const std::string& video, std::size_t expected_clips) {
    const pid_t pid = spawn_shell("exec " + quote(XSEARCH_BINARY) + " classify " + quote((tmp / video).string()) +
                                  " --labels 'a test pattern,a dog' --per-clip --json" + model_arg() + " >" +
                                  quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string()));
    const ChildEnd end = wait_child(pid);
    INFO(read_file(tmp / "err"));
    REQUIRE(end.status == 0);
    CHECK(nlohmann::json::parse(read_file(tmp / "out"))["clips"].size() == expected_clips);
    return end.max_rss_kb;
  };
  const long short_kb = peak_kb("short.mp4", 8);  // 30 s: 7 windows of 4 s and the 2 s tail
  const long long_kb = peak_kb("long.mp4", 75);
  WARN("peak RSS: " << short_kb / 1024 << " MB for 8 clips, " << long_kb / 1024 << " MB for 75 clips");
  // One clip's pixels are 8 x 3 x 224 x 224 floats = 4.8 MB: holding all 75 would add 360 MB. 60 MB
  // leaves room for allocator and decoder noise and still catches any per-clip accumulation of pixels.
  CHECK(long_kb - short_kb < 60 * 1024);
}
