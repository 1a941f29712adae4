// Files cut short or damaged: read_error() says why reading stopped early, good_until() where the good
// frames end, and frames_at_times() delivers nothing past them (never a clip padded with repeated frames)
// and the right frames before. Damage the demuxer recovers from keeps decoding to the end.
#include "cli_runner.hpp"
#include "helpers.hpp"
#include "xsearch/video.hpp"

using namespace xsearch;
using xsearch::test::quote;
namespace fs = std::filesystem;

namespace {

// 20 s of a moving test pattern at 15 fps, a keyframe a second, with the container flags given.
fs::path make_20s(const test::TempDir& tmp, const std::string& name, const std::string& flags) {
  const fs::path p = tmp / name;
  test::ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=15 -t 20 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 15 " + flags +
               " " + quote(p.string()));
  return p;
}

struct Delivered {
  std::vector<std::size_t> k;
  std::vector<RgbFrame> frames;
};

Delivered deliver(VideoReader& r, const std::vector<double>& targets) {
  Delivered d;
  r.frames_at_times(targets, [&](std::size_t k, const RgbFrame& f) {
    d.k.push_back(k);
    d.frames.push_back(f);
  });
  return d;
}

}  // namespace

TEST_CASE("a file cut short stops at its last good frame and says why", "[video]") {
  test::TempDir tmp;
  // A fragmented MP4 (as a recorder or a download in progress leaves it) and a Matroska file, cut to 60%.
  for (const auto& [name, flags] : std::vector<std::pair<std::string, std::string>>{
           {"frag.mp4", "-movflags frag_keyframe+empty_moov"}, {"plain.mkv", ""}}) {
    INFO(name);
    const fs::path full = make_20s(tmp, name, flags);
    const std::string bytes = test::read_file(full);
    const fs::path cut = tmp / ("cut-" + name);
    test::write_file(cut, bytes.substr(0, bytes.size() * 6 / 10));

    VideoReader whole(full);
    // Targets over the whole 20 s, two a second, as the complete file would be sampled.
    std::vector<double> targets;
    for (double t = 0.25; t < 20; t += 0.5) targets.push_back(t);
    const Delivered want = deliver(whole, targets);
    REQUIRE(want.frames.size() == targets.size());
    CHECK(whole.read_error().empty());  // a complete file ends normally
    CHECK(whole.good_until() == Approx(whole.info().end));

    VideoReader r(cut);
    const Delivered got = deliver(r, targets);
    CHECK_THAT(r.read_error(), Catch::Contains("cut short"));
    // About 60% of the bytes: roughly 12 of 20 s (the pattern's bitrate is even); the bounds leave room for
    // the cut landing anywhere in a second's fragment or cluster.
    CHECK(r.good_until() > 9.0);
    CHECK(r.good_until() < 14.0);
    REQUIRE(!got.frames.empty());
    for (std::size_t i = 0; i < got.frames.size(); ++i) {
      const std::size_t k = got.k[i];
      INFO("target " << targets[k]);
      CHECK(targets[k] < r.good_until());  // nothing past the last good frame
      CHECK(got.frames[i].time == Approx(want.frames[k].time).margin(1e-9));
      CHECK(got.frames[i].rgb == want.frames[k].rgb);  // the same decoder on the same bytes: identical
    }
    // Every target before the last good frame was delivered.
    std::size_t before = 0;
    for (double t : targets) before += t < r.good_until() - 1.0 / 15 ? 1 : 0;
    CHECK(got.frames.size() >= before);
    // frame_times() says the same.
    const auto times = r.frame_times();
    CHECK(!r.read_error().empty());
    CHECK(times.back() < r.good_until());
  }
}

TEST_CASE("damage in the middle that decoding recovers from is not an early end", "[video]") {
  test::TempDir tmp;
  const fs::path full = make_20s(tmp, "full.mkv", "");
  std::string bytes = test::read_file(full);
  // 2 KB of zeros in the middle: a few frames' data lost, the demuxer resynchronises at the next cluster.
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 2000; ++i) bytes[i] = 0;
  test::write_file(tmp / "damaged.mkv", bytes);
  VideoReader r(tmp / "damaged.mkv");
  std::vector<double> targets;
  for (double t = 0.25; t < 20; t += 0.5) targets.push_back(t);
  const Delivered got = deliver(r, targets);
  CHECK(r.read_error().empty());
  CHECK(r.good_until() == Approx(r.info().end));
  CHECK(got.frames.size() == targets.size());
  CHECK(got.frames.back().time > 19.0);
}
