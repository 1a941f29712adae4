// The ingest stages on their own: the commit stage's state machine and what it stores for a video whose
// decoding ended early.
#include "helpers.hpp"
#include "pipeline/ingest/commit.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
using namespace xsearch::pipeline;

namespace {

ClipItem clip_item(std::size_t job, std::size_t clip) {
  return ClipItem{job, clip, 4.0 * clip, 4.0 * clip + 4, {}};
}

ClipData clip_data(double start, double end) {
  ClipData c;
  c.start = start;
  c.end = end;
  c.embedding = {1, 0, 0, 0};
  return c;
}

}  // namespace

TEST_CASE("a video is committed only once decoded and every received clip is embedded", "[index]") {
  test::TempDir tmp;
  Library library = Library::open(tmp / "lib.db", true);
  IngestReport report;
  const IngestObserver observer;
  const Reporter reporter(observer, report);
  const std::vector<Job> jobs = {Job{FoundFile{(tmp / "a.mp4").string(), 10, 1}, "fp"}};
  Committer committer(library, jobs, reporter);
  VideoInfo info;
  info.end = 12;
  committer.opened(VideoOpened{0, info, 3});
  committer.received(clip_item(0, 0));
  committer.received(clip_item(0, 1));
  committer.embedded(0, 0, clip_data(0, 4));
  CHECK_FALSE(committer.commit_if_ready(0));  // still receiving
  committer.decoded(VideoFinished{0, {}, false, {}, {}, 0});
  CHECK_FALSE(committer.commit_if_ready(0));  // clip 1 still in the model's batch
  CHECK(library.clip_count() == 0);
  committer.embedded(0, 1, clip_data(4, 8));
  CHECK(committer.commit_if_ready(0));
  CHECK(library.clip_count() == 2);
  CHECK(report.summary.indexed == 1);
  CHECK(report.partials.empty());
}

TEST_CASE("a video whose decoding ended early is stored as partial, its last clip cut at the last good frame", "[index]") {
  test::TempDir tmp;
  Library library = Library::open(tmp / "lib.db", true);
  IngestReport report;
  std::vector<std::string> errors;
  IngestObserver observer;
  observer.on_error = [&](const std::string& m) { errors.push_back(m); };
  const Reporter reporter(observer, report);
  const std::string path = (tmp / "cut.mp4").string();
  const std::vector<Job> jobs = {Job{FoundFile{path, 10, 1}, "fp"}};
  Committer committer(library, jobs, reporter);
  VideoInfo info;
  info.end = 20;
  committer.opened(VideoOpened{0, info, 5});
  for (std::size_t c = 0; c < 3; ++c) {
    committer.received(clip_item(0, c));
    committer.embedded(0, c, clip_data(4.0 * c, 4.0 * c + 4));
  }
  // The reader stopped at 10.5 s: the third clip's frames (targets up to 10.25 s) are good, its window is not.
  committer.decoded(VideoFinished{0, {}, false, {}, "file cut short", 10.5});
  REQUIRE(committer.commit_if_ready(0));
  REQUIRE(report.partials.size() == 1);
  CHECK(report.partials[0].first == path);
  CHECK_THAT(report.partials[0].second, Catch::Contains("partial: indexed up to 10.5 s of 20.0 s (file cut short)"));
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::StartsWith(path + ": partial"));
  const auto video = library.find_video(path);
  REQUIRE(video);
  CHECK_THAT(video->error, Catch::Contains("file cut short"));
  const auto clips = library.clips_of_video(video->id);
  REQUIRE(clips.size() == 3);
  CHECK(clips.back().end == 10.5);
}
