// The file checked is the file read (issue 25, "check-then-open race"): media::open_video_file checks a
// library video (a regular file; a symlink only to the file indexed), and everything FFmpeg reads after
// that comes through the descriptor that passed, not through the name again. A test hook swaps the path
// for another video right after the check; what gets probed, decoded and cut must be the original.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "library_helpers.hpp"
#include "media/av_util.hpp"
#include "media/segment.hpp"
#include "media/thumbnail.hpp"
#include "media/video_file.hpp"

using namespace xsearch;
using test::fs::path;

namespace {

// Swaps the checked path for `replacement` once, right after the check; removed at scope exit.
path swap_in;
void swap_after_check(const std::filesystem::path& checked) {
  if (swap_in.empty()) return;
  std::error_code ec;
  std::filesystem::rename(swap_in, checked, ec);  // atomic: the name now means the other file
  swap_in.clear();
}
struct SwapOnce {
  explicit SwapOnce(const path& replacement) {
    swap_in = replacement;
    media::after_video_file_check = &swap_after_check;
  }
  ~SwapOnce() {
    media::after_video_file_check = nullptr;
    swap_in.clear();
  }
};

int width_of(const path& video) {
  const media::Input in = media::open_input(video);
  return in.video_stream()->codecpar->width;
}

}  // namespace

TEST_CASE("media reads the video file it checked even when its path is swapped right after", "[media]") {
  test::TempDir tmp;
  // The original is 160x120; the files swapped in are 320x240 (test::make_video's size, then scaled).
  const path original = tmp / "orig.mp4", video = tmp / "v.mp4";
  test::make_video(original, "testsrc2", 2);
  auto other = [&](const std::string& name) {
    const path p = tmp / name;
    test::ffmpeg("-f lavfi -i smptebars=size=320x240:rate=15 -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p " + test::quote(p.string()));
    return p;
  };
  auto fresh = [&] {
    test::fs::copy_file(original, video, test::fs::copy_options::overwrite_existing);
  };
  REQUIRE(width_of(original) == 160);
  REQUIRE(width_of(other("probe.mp4")) == 320);

  SECTION("probe and open (browser_playable, segment cuts, renditions)") {
    fresh();
    const path swapped = other("o1.mp4");
    SwapOnce swap(swapped);
    CHECK(width_of(video) == 160);
    CHECK(width_of(video) == 320);  // the swap did happen: the name now means the other file
  }
  SECTION("a segment cut") {
    fresh();
    const path swapped = other("o2.mp4");
    media::EncodeOptions o;
    o.preset = "ultrafast";
    {
      SwapOnce swap(swapped);
      media::cut_exact(video, 0, 1, tmp / "cut.mp4", o);
    }
    CHECK(width_of(tmp / "cut.mp4") == 160);
    CHECK(width_of(video) == 320);
  }
  SECTION("a thumbnail") {
    fresh();
    const std::string expected = media::make_thumbnail_jpeg(original, 0.5, 640);
    const path swapped = other("o3.mp4");
    std::string got;
    {
      SwapOnce swap(swapped);
      got = media::make_thumbnail_jpeg(video, 0.5, 640);
    }
    CHECK(got == expected);
    CHECK(media::make_thumbnail_jpeg(video, 0.5, 640) != expected);
  }
  SECTION("a FIFO swapped in is never opened, and errors name the real path") {
    fresh();
    const path fifo = tmp / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    {
      // The old code opened the FIFO here and blocked for good: a writer that opens and closes it after
      // 3 s (long enough for the probe below, which takes milliseconds) ends such a wait, so that the
      // test fails instead of hanging.
      std::thread unblock([&] {
        std::this_thread::sleep_for(std::chrono::seconds(3));
        const int w = ::open(video.c_str(), O_WRONLY | O_NONBLOCK);
        if (w >= 0) ::close(w);
      });
      SwapOnce swap(fifo);
      CHECK(width_of(video) == 160);
      unblock.join();
    }
    CHECK_THROWS_WITH(width_of(video), Catch::Contains(video.string()) && Catch::Contains("a FIFO"));
    test::fs::remove(video);  // writing to the FIFO would wait for a reader
    test::write_file(video, "not a video at all");
    CHECK_THROWS_WITH(width_of(video), Catch::StartsWith(video.string() + ": cannot open"));
  }
}
