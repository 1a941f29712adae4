// Several decoders (ingest --decoders N): each decodes one whole video at a time, and nothing a user can see
// changes but the speed: the same rows and embeddings as one decoder, commits in the plan's order, a bad
// file reported while the others are indexed, Ctrl-C within 2 s and a re-run that completes the rest, and
// a shared library's claims.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_backends.hpp"
#include "decoder_folders.hpp"
#include "library_helpers.hpp"
#include "pipeline/ingest/commit.hpp"
#include "pipeline/ingest/decoders.hpp"

using namespace xsearch;
using namespace xsearch::test;
namespace fs = std::filesystem;
using pipeline::BlockingQueue;
using pipeline::DecodeMessage;

namespace {

std::vector<std::string> committed_in_order(const fs::path& db) {
  std::vector<std::string> paths;
  std::istringstream rows(sqlite_value(db, "SELECT path FROM videos ORDER BY id"));
  for (std::string line; std::getline(rows, line);) paths.push_back(line);
  return paths;
}

pipeline::Job job_of(const fs::path& p) { return pipeline::Job{pipeline::FoundFile{p.string(), 1, 1}, p.string()}; }

}  // namespace

TEST_CASE("the automatic decoder count follows the cores, and an asked-for count is kept", "[ingest]") {
  using pipeline::choose_decoders;
  CHECK(choose_decoders(0, 1).decoders == 1);
  CHECK(choose_decoders(0, 1).ffmpeg_threads == 0);  // one decoder: FFmpeg's own choice, as before
  CHECK(choose_decoders(0, 2).decoders == 2);
  CHECK(choose_decoders(0, 2).ffmpeg_threads == 3);  // 2 x 2 / 2 + 1: FFmpeg's own choice for one on 2 cores
  CHECK(choose_decoders(0, 16).decoders == 8);
  CHECK(choose_decoders(0, 16).ffmpeg_threads == 5);
  CHECK(choose_decoders(0, 64).decoders == 8);
  CHECK(choose_decoders(0, 64).ffmpeg_threads == 16);  // FFmpeg's cap
  CHECK(choose_decoders(3, 2).decoders == 3);
  CHECK(choose_decoders(3, 2).ffmpeg_threads == 2);    // at least 2
  CHECK(choose_decoders(1, 16).ffmpeg_threads == 0);
}

TEST_CASE("videos finished out of order are committed in the order they were handed out", "[ingest]") {
  TempDir tmp;
  Library library = Library::open(tmp / "lib.db", true);
  IngestReport report;
  const IngestObserver observer;
  const pipeline::Reporter reporter(observer, report);
  const std::vector<pipeline::Job> jobs = {job_of(tmp / "a.mp4"), job_of(tmp / "b.mp4"), job_of(tmp / "c.mp4")};
  pipeline::Committer committer(library, jobs, reporter);
  VideoInfo info;
  info.end = 4;
  auto finish = [&](std::size_t job, std::size_t seq) {
    committer.opened(pipeline::VideoOpened{job, info, 1});
    committer.received(pipeline::ClipItem{job, 0, 0, 4, {}, {}});
    committer.embedded(job, 0, ClipData{0, 4, {1, 0, 0, 0}, {}});
    pipeline::VideoFinished end{job, {}, false, {}, {}, 0, false, false, seq};
    committer.decoded(std::move(end));
  };
  finish(2, 2);
  finish(1, 1);
  CHECK(committer.commit_ready() == 0);  // a.mp4 (seq 0) is still decoding: nothing may pass it
  CHECK(library.clip_count() == 0);
  finish(0, 0);
  CHECK(committer.commit_ready() == 3);
  CHECK(committed_in_order(tmp / "lib.db") ==
        std::vector<std::string>{(tmp / "a.mp4").string(), (tmp / "b.mp4").string(), (tmp / "c.mp4").string()});
}

TEST_CASE("decoder workers hand every video out once, numbered in plan order, and retry the ones another worker holds", "[ingest]") {
  // Files that do not exist: each worker sends a failure for each at once, which is all this test needs.
  TempDir tmp;
  std::vector<pipeline::Job> jobs;
  for (int i = 0; i < 40; ++i) jobs.push_back(job_of(tmp / ("missing" + std::to_string(i) + ".mp4")));
  pipeline::DecodeSettings settings;
  for (const int workers : {1, 3}) {
    INFO(workers << " workers");
    // Job 5 is held by another process for its first two asks, then stored there (Done).
    std::atomic<int> asked5{0};
    pipeline::ClaimJob claim = [&](const pipeline::Job& job) {
      if (job.file.path != jobs[5].file.path) return pipeline::JobClaim::Mine;
      return ++asked5 <= 2 ? pipeline::JobClaim::Taken : pipeline::JobClaim::Done;
    };
    BlockingQueue<DecodeMessage> queue(4);  // small: the workers wait for room, as behind a slow model
    pipeline::Decoders decoders(jobs, settings, queue, claim, workers);
    std::map<std::size_t, std::size_t> seq_of;  // job -> seq
    std::set<std::size_t> seqs;
    std::size_t stored = 0;
    int waiting = 0;
    while (auto m = queue.pop()) {
      if (std::holds_alternative<pipeline::DecoderWaiting>(*m)) ++waiting;
      if (auto* end = std::get_if<pipeline::VideoFinished>(&*m)) {
        // Stored at once, in order, as the consumer does (without it the workers stop at the lookahead).
        seqs.insert(end->seq);
        while (seqs.count(stored)) ++stored;
        decoders.committed_through(stored);
        CHECK(seq_of.emplace(end->job, end->seq).second);  // once each
        if (end->job == 5) CHECK(end->elsewhere);
        else CHECK_THAT(end->error, Catch::Contains("missing"));
      }
    }
    decoders.join();
    REQUIRE(seq_of.size() == jobs.size());
    // Numbered 0..39: the others in plan order, the put-off one last.
    std::size_t expected = 0;
    for (std::size_t j = 0; j < jobs.size(); ++j)
      if (j != 5) CHECK(seq_of[j] == expected++);
    CHECK(seq_of[5] == jobs.size() - 1);
    CHECK(asked5 == 3);
    CHECK(waiting >= 1);  // the consumer was told to store what it had before the wait
  }
}

TEST_CASE("decoder workers hand out only a bounded number of videos beyond the oldest one not stored", "[ingest]") {
  TempDir tmp;
  std::vector<pipeline::Job> jobs;
  for (int i = 0; i < 100; ++i) jobs.push_back(job_of(tmp / ("missing" + std::to_string(i) + ".mp4")));
  pipeline::DecodeSettings settings;
  BlockingQueue<DecodeMessage> queue(1000);  // room for everything: only the lookahead may hold the workers back
  const int workers = 3;
  const std::size_t bound = pipeline::Decoders::kLookahead * workers;
  pipeline::Decoders decoders(jobs, settings, queue, {}, workers);
  std::set<std::size_t> finished;
  std::size_t stored = 0;  // as the consumer would say after its commits
  int waits = 0;
  while (auto m = queue.pop()) {
    if (auto* end = std::get_if<pipeline::VideoFinished>(&*m)) {
      finished.insert(end->seq);
      CHECK(end->seq < stored + bound);  // never handed out past the bound
    } else if (std::holds_alternative<pipeline::DecoderWaiting>(*m)) {
      // The workers wait: store the oldest video only (the slowest a consumer can be and still progress).
      ++waits;
      if (finished.count(stored)) decoders.committed_through(++stored);
    }
  }
  decoders.join();
  CHECK(finished.size() == jobs.size());
  CHECK(waits > 0);
  CHECK(stored >= jobs.size() - bound);
}

TEST_CASE("a folder of more videos than the decoders may run ahead completes with a batch larger than all its clips", "[ingest][cli]") {
  // One decoder may run 8 videos ahead of the oldest not stored; here that one's clips wait in a batch that
  // would fill only with later videos' clips: the waiting decoder must make the model embed them.
  TempDir tmp;
  for (int i = 0; i < 12; ++i) make_video(tmp / "videos" / ("v" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".mp4"), "testsrc2", 1);
  const auto s = run_json("ingest " + quote((tmp / "videos").string()) + db_arg(tmp / "lib.db") + model_arg() + " --decoders 1 --batch 64", 0);
  CHECK(s["indexed"] == 12);
  CHECK(s["clips"] == 12);
}

TEST_CASE("two and three decoders store the same rows and embeddings as one, committed in the plan's order", "[ingest][cli]") {
  TempDir tmp;
  const auto paths = make_folder(tmp / "videos");
  // Batches of one clip and one model thread: each clip is embedded alone, by the same computation, in
  // whatever order the decoders deliver it, so the embeddings must be equal bit for bit.
  const std::string common = " ingest " + quote((tmp / "videos").string()) + model_arg() + " --batch 1 --threads 1";
  std::vector<nlohmann::json> reference;
  std::string reference_rows;
  for (const int n : {1, 2, 3}) {
    INFO(n << " decoders");
    const fs::path db = tmp / ("lib" + std::to_string(n) + ".db");
    const auto s = run_json(common.substr(1) + " --db " + quote(db.string()) + " --decoders " + std::to_string(n), 0);
    CHECK(s["indexed"] == 5);
    CHECK(s["clips"] == 10);  // 24 s: six 4 s clips, and one for each 3 s video
    CHECK(s["decoders"] == n);
    CHECK(s["frames_decoded"].get<int64_t>() > 0);
    CHECK(s["model_seconds"].get<double>() > 0);
    CHECK(s["decode_seconds"].get<double>() > 0);
    std::vector<std::string> expected;
    for (const auto& p : paths) expected.push_back(p.string());
    CHECK(committed_in_order(db) == expected);
    // Clips too: ids follow the commits.
    CHECK(sqlite_value(db, "SELECT count(*) FROM clips c JOIN clips d ON c.id < d.id WHERE c.video_id > d.video_id") == "0");
    const auto lines = embeddings(db);
    REQUIRE(lines.size() == 10);
    if (n == 1) {
      reference = lines;
      reference_rows = stored_rows(db);
      continue;
    }
    CHECK(stored_rows(db) == reference_rows);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      CHECK(lines[i]["path"] == reference[i]["path"]);
      CHECK(lines[i]["start"] == reference[i]["start"]);
      CHECK(lines[i]["embedding"] == reference[i]["embedding"]);
    }
  }
  // XSEARCH_DECODERS is --decoders' default.
  ScopedEnv env("XSEARCH_DECODERS", "3");
  const auto s = run_json(common.substr(1) + " --db " + quote((tmp / "env.db").string()), 0);
  CHECK(s["decoders"] == 3);
}

TEST_CASE("with three decoders a corrupt file and a file cut short are reported while the others are indexed", "[ingest][cli]") {
  TempDir tmp;
  const auto videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 8);
  write_file(videos / "b-broken.mp4", "this is not an mp4");
  ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=15 -t 20 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "
         "-movflags frag_keyframe+empty_moov -g 15 " + quote((tmp / "full.mp4").string()));
  const std::string bytes = read_file(tmp / "full.mp4");
  write_file(videos / "c-cut.mp4", bytes.substr(0, bytes.size() / 2));
  make_video(videos / "d.mp4", "mandelbrot", 5);
  make_video(videos / "e.mp4", "smptebars", 5);
  const auto db = tmp / "lib.db";
  const Result r = xsearch_run("ingest " + quote(videos.string()) + db_arg(db) + model_arg() + " --decoders 3 --json");
  INFO(r.err);
  CHECK(r.status == 3);  // completed, with file problems
  CHECK_THAT(r.err, Catch::Contains("b-broken.mp4: not a readable video"));
  CHECK_THAT(r.err, Catch::Contains((videos / "c-cut.mp4").string() + ": partial"));
  const auto s = nlohmann::json::parse(r.out);
  CHECK(s["indexed"] == 4);  // a, c (partial), d, e
  CHECK(s["failed"] == 1);
  CHECK(s["partial"] == 1);
  REQUIRE(s["failures"].size() == 1);
  CHECK(s["failures"][0]["path"] == (videos / "b-broken.mp4").string());
  CHECK(sqlite_value(db, "SELECT status FROM videos WHERE path LIKE '%c-cut.mp4'") == "partial");
  CHECK(sqlite_value(db, "SELECT count(*) FROM videos WHERE status = 'indexed'") == "3");
  // The rows, failures included, in the plan's order.
  CHECK(committed_in_order(db) == std::vector<std::string>{(videos / "a.mp4").string(), (videos / "b-broken.mp4").string(),
                                                           (videos / "c-cut.mp4").string(), (videos / "d.mp4").string(),
                                                           (videos / "e.mp4").string()});
}

TEST_CASE("SIGINT stops an ingest with three decoders within 2 s, leaving a prefix of the plan, and a re-run completes it", "[ingest][cli]") {
  TempDir tmp;
  const char* sources[] = {"testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc", "yuvtestsrc"};
  std::vector<std::string> planned;
  for (int i = 0; i < 12; ++i) {
    const fs::path p = tmp / "videos" / ("v" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".mp4");
    make_video(p, sources[i % 6], 12);
    planned.push_back(p.string());
  }
  const auto db = tmp / "lib.db";
  // One model thread and batches of two, as the single-decoder test (test_ingest_safety.cpp) says why.
  const std::string ingest = "ingest " + quote((tmp / "videos").string()) + db_arg(db) + model_arg() + " --batch 2 --threads 1";
  const pid_t pid = spawn_shell("exec " + quote(XSEARCH_BINARY) + " " + ingest + " --decoders 3 --json >" + quote((tmp / "out").string()) +
                                " 2>" + quote((tmp / "err").string()));
  // Signal it once some videos are committed and others are not (a bounded wait, not a timing).
  for (int i = 0; i < 1000; ++i) {
    if (fs::exists(db) && std::atoi(sqlite_value(db, "SELECT count(*) FROM videos").c_str()) >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(::kill(pid, SIGINT) == 0);
  const ChildEnd end = wait_child(pid);
  INFO(read_file(tmp / "err"));
  WARN("stopped " << end.seconds << " s after SIGINT with 3 decoders");
  CHECK(end.status == 130);
  CHECK(end.seconds < 2.0);  // the bound
  const auto summary = nlohmann::json::parse(read_file(tmp / "out"));
  CHECK(summary["interrupted"] == true);
  const auto committed = committed_in_order(db);
  CHECK(static_cast<int>(committed.size()) == summary["indexed"].get<int>());
  REQUIRE(committed.size() < 12);
  // Exactly the first videos of the plan, each whole.
  CHECK(committed == std::vector<std::string>(planned.begin(), planned.begin() + static_cast<std::ptrdiff_t>(committed.size())));
  CHECK(sqlite_value(db, "SELECT count(*) FROM (SELECT video_id FROM clips GROUP BY video_id HAVING count(*) != 3)") == "0");
  CHECK(temp_files_under(tmp.path()) == 0);

  const auto s = run_json(ingest + " --decoders 2", 0);
  CHECK(s["indexed"].get<int>() == 12 - static_cast<int>(committed.size()));
  CHECK(s["unchanged"].get<int>() == static_cast<int>(committed.size()));
  CHECK(sqlite_value(db, "PRAGMA integrity_check") == "ok");
  CHECK(committed_in_order(db) == planned);
  CHECK(sqlite_value(db, "SELECT count(*) FROM clips") == "36");  // 12 s: three 4 s clips each
  CHECK(sqlite_value(db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == "done");
}

TEST_CASE("two ingest workers of two decoders each share a PostgreSQL library: every video stored once, claims settled", "[ingest][cli][postgres]") {
  TempDir tmp;
  ScopedEnv lease("XSEARCH_LEASE_SECONDS", "3");
  ::setenv("XDG_CACHE_HOME", (tmp / "cache").c_str(), 1);
  const fs::path videos = tmp / "videos";
  const char* sources[] = {"testsrc", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc2", "yuvtestsrc", "smptehdbars", "testsrc"};
  for (int i = 0; i < 8; ++i) make_video(videos / ("v" + std::to_string(i) + ".mp4"), sources[i], 3 + i % 3);
  const std::string db = new_library("postgres", tmp.path());
  const std::string ingest = quote(XSEARCH_BINARY) + " ingest " + quote(videos.string()) + " --db " + quote(db) + model_arg() +
                             " --quiet --json --decoders 2";
  std::vector<pid_t> workers;
  for (int w = 0; w < 2; ++w)
    workers.push_back(spawn_shell("exec " + ingest + " > " + quote((tmp / ("w" + std::to_string(w) + ".json")).string())));
  int indexed = 0, elsewhere = 0;
  for (int w = 0; w < 2; ++w) {
    CHECK(wait_child(workers[static_cast<std::size_t>(w)]).status == 0);
    const auto s = nlohmann::json::parse(read_file(tmp / ("w" + std::to_string(w) + ".json")));
    CHECK(s["decoders"] == 2);
    indexed += s["indexed"].get<int>();
    elsewhere += s["elsewhere"].get<int>();
  }
  CHECK(indexed == 8);  // each video embedded and stored by one worker
  CHECK(indexed + elsewhere <= 16);
  CHECK(sql_value(db, "SELECT count(*) FROM videos WHERE status = 'indexed'") == "8");
  CHECK(sql_value(db, "SELECT count(*) FROM (SELECT path FROM videos GROUP BY path HAVING count(*) > 1) d") == "0");
  CHECK(sql_value(db, "SELECT sum(done) FROM workers") == "8");
  CHECK(sql_value(db, "SELECT count(*) FROM claims") == "0");
  CHECK(sql_value(db, "SELECT count(*) FROM pending") == "0");
  // The same clips as a SQLite library of the same folder.
  const fs::path sqlite_db = tmp / "lib.db";
  run_json("ingest " + quote(videos.string()) + " --db " + quote(sqlite_db.string()) + model_arg() + " --quiet", 0);
  CHECK(sql_value(db, "SELECT count(*) FROM clips") == sqlite_value(sqlite_db, "SELECT count(*) FROM clips"));
}
