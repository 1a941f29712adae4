// The library on both backends: the same API tests on a SQLite file and on a real PostgreSQL server
// (pg_server.hpp), the local index cache of a shared library, and many ingest workers on one shared library,
// one of them killed mid-video.
#include <signal.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "../index/db/database.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"
#include "library_backends.hpp"
#include "pg_server.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

namespace {

VideoRecord record(const std::string& path) {
  VideoRecord r;
  r.path = path;
  r.fingerprint = path;
  r.size = 1;
  return r;
}

std::vector<ClipData> clips_of(std::mt19937& rng, int n, int dim) {
  std::vector<ClipData> out;
  for (int c = 0; c < n; ++c) out.push_back({c * 4.0, c * 4.0 + 4, test::random_unit(rng, dim), {}});
  return out;
}

using test::new_library;
using test::ScopedEnv;

// One value of a query run straight on the server (test checks only).
std::string pg_value(const std::string& uri, const std::string& sql) { return test::sql_value(uri, sql); }

}  // namespace

TEST_CASE("the library keeps, replaces, moves, removes and searches alike on SQLite and PostgreSQL", "[index][postgres]") {
  const std::string backend = GENERATE(std::string("sqlite"), std::string("postgres"));
  INFO("backend " << backend);
  test::TempDir tmp;
  const std::string db = new_library(backend, tmp.path());
  std::mt19937 rng(4);
  const int dim = 8;
  CHECK_THROWS_WITH(Library::open(db, false), Catch::Contains("no library here yet"));
  Library lib = Library::open(db, true);
  CHECK(lib.shared() == (backend == "postgres"));
  lib.claim_model({"m", "fp", dim});
  CHECK_THROWS_WITH(lib.claim_model({"m2", "fp2", dim}), Catch::Contains("different model"));
  const auto a = lib.save_video(record("/v/a.mp4"), clips_of(rng, 3, dim));
  const auto b = lib.save_video(record("/v/b.mp4"), clips_of(rng, 2, dim));
  CHECK(b.clip_ids.front() > a.clip_ids.back());
  const auto again = lib.save_video(record("/v/a.mp4"), clips_of(rng, 2, dim));  // replaced, new ids
  CHECK(again.video_id == a.video_id);
  CHECK(again.clip_ids.front() > b.clip_ids.back());
  CHECK(lib.clip_count() == 4);
  CHECK(lib.video_count() == 2);
  const auto probe = lib.clip_embedding(again.clip_ids[1]);
  const auto hits = lib.search(probe, 2);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].first == again.clip_ids[1]);
  CHECK(hits[0].second == Approx(1.0).margin(1e-6));  // a unit vector against itself, one float product
  // A long video's clips go to the database in several statements (150 rows each): every id is still its
  // clip's, in the clips' order.
  const auto long_clips = clips_of(rng, 401, dim);
  const auto saved_long = lib.save_video(record("/v/long.mp4"), long_clips);
  REQUIRE(saved_long.clip_ids.size() == long_clips.size());
  CHECK(std::is_sorted(saved_long.clip_ids.begin(), saved_long.clip_ids.end()));
  CHECK(saved_long.clip_ids.front() > again.clip_ids.back());
  for (const std::size_t i : {0, 149, 150, 151, 299, 300, 400}) {
    INFO("clip " << i);
    CHECK(lib.clip_embedding(saved_long.clip_ids[i]) == long_clips[i].embedding);
    CHECK(lib.clips_by_id({saved_long.clip_ids[i]}).at(0).start == long_clips[i].start);
  }
  lib.remove_video(saved_long.video_id);
  lib.move_video(b.video_id, "/v/b2.mp4", 1, 0);
  CHECK(lib.clips_by_id({b.clip_ids[0]}).at(0).path == "/v/b2.mp4");
  lib.remove_video(b.video_id);
  CHECK(lib.clip_count() == 2);
  VideoRecord bad = record("/v/bad.mp4");
  bad.error = "no clips";
  lib.save_failure(bad);
  const VideoCounts counts = lib.video_counts();
  CHECK(counts.indexed == 1);
  CHECK(counts.failed == 1);
  // A second process sees the same, and searches the same.
  Library reader = Library::open(db, false);
  CHECK(reader.clip_count() == 2);
  CHECK(reader.search(probe, 1) == lib.search(probe, 1));
  const int64_t run = lib.begin_run({"/v"});
  lib.finish_run(run, {}, "done");
  CHECK(run > 0);
}

TEST_CASE("a PostgreSQL library of a newer schema is refused, and a server that is not there is named without its password", "[postgres]") {
  test::TempDir tmp;
  const std::string db = new_library("postgres", tmp.path());
  { Library::open(db, true).claim_model({"m", "fp", 2}); }
  db::open_postgres(db)->exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  CHECK_THROWS_WITH(Library::open(db, false), Catch::Contains("schema version 99 is newer than this xsearch supports"));
  CHECK_THROWS_WITH(Library::open(db, true), Catch::Contains("newer than this xsearch supports"));
  try {
    Library::open("postgresql://someone:hunter2secret@127.0.0.1:1/nothing", false);
    FAIL("opened a library on a closed port");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("127.0.0.1") && !Catch::Contains("hunter2secret"));
  }
}

TEST_CASE("a shared library's local index cache follows the server by generation and fetches only what changed", "[index][postgres]") {
  ScopedEnv limit("XSEARCH_EXACT_LIMIT", "300");
  ScopedEnv cache("XDG_CACHE_HOME", "");
  test::TempDir tmp;
  ::setenv("XDG_CACHE_HOME", (tmp / "cache").c_str(), 1);
  const std::string db = new_library("postgres", tmp.path());
  std::mt19937 rng(9);
  const int dim = 16;
  std::map<int64_t, std::vector<float>> stored;
  Library writer = Library::open(db, true);
  writer.claim_model({"m", "fp", dim});
  auto add = [&](const std::string& name, int n) {
    const auto clips = clips_of(rng, n, dim);
    const auto saved = writer.save_video(record("/v/" + name), clips);
    for (std::size_t i = 0; i < clips.size(); ++i) stored[saved.clip_ids[i]] = clips[i].embedding;
  };
  for (int v = 0; v < 6; ++v) add(std::to_string(v), 100);
  Library reader = Library::open(db, false);
  const fs::path index = reader.index_path();
  CHECK(index.string().rfind((tmp / "cache" / "xsearch" / "postgres").string(), 0) == 0);
  const int64_t first = stored.begin()->first;
  CHECK(reader.search(stored.at(first), 1).at(0).first == first);  // the first query builds the cache
  REQUIRE(fs::exists(index));
  const auto main_size = fs::file_size(index);
  add("new", 30);
  const int64_t fresh = stored.rbegin()->first;
  const auto hit = reader.search(stored.at(fresh), 1);
  CHECK(hit.at(0).first == fresh);
  CHECK(reader.index_note().empty());
  // Only the 30 new clips were fetched and written: an added-clips file beside the unchanged main file.
  CHECK(fs::file_size(index) == main_size);
  REQUIRE(fs::exists(index.string() + "-add"));
  CHECK(fs::file_size(index.string() + "-add") < main_size / 10);
  // A removal on the server: the cache skips the removed clips.
  writer.remove_video(writer.find_video("/v/0")->id);
  for (const auto& [id, v] : stored)
    if (id % 37 == 0)
      for (const auto& [found, score] : reader.search(v, 3)) CHECK(reader.clips_by_id({found}).at(0).path != "/v/0");
}

TEST_CASE("a shared library's local cache belongs to one server: a cluster made anew under the same socket and port gets another", "[index][postgres]") {
  test::TempDir tmp;
  ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
  test::PgServer server;  // its own, replaced midway
  const std::string conninfo = server.create_database();
  const std::string db = "postgresql://postgres@/test_1?host=" + server.socket_dir() + "&port=" + std::to_string(server.port());
  REQUIRE(conninfo.find("dbname=test_1") != std::string::npos);
  fs::path first;
  std::string uuid;
  {
    Library lib = Library::open(db, true);
    first = lib.media_base();
    uuid = pg_value(db, "SELECT value FROM meta WHERE key = 'uuid'");
    CHECK(Library::open(db, false).media_base() == first);  // the same server again: the same cache
    CHECK(lib.index_path().parent_path() == first.parent_path());
  }
  // initdb again under the same name and port, and the library restored there (the same uuid): what the
  // first cluster's cache holds (its index by generation, its thumbnails by clip id) is not this one's.
  server.reinitialise();
  REQUIRE(server.create_database() == conninfo);
  Library::open(db, true);
  pg_value(db, "UPDATE meta SET value = '" + uuid + "' WHERE key = 'uuid'");
  const fs::path second = Library::open(db, false).media_base();
  CHECK(second != first);
  CHECK(second.parent_path().filename().string().rfind(uuid, 0) == 0);

  // A role that may not call pg_control_system(): the library opens all the same, keyed without it.
  pg_value(db, "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC");
  pg_value(db, "CREATE ROLE reader LOGIN");
  pg_value(db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader");
  const std::string as_reader = "postgresql://reader@/test_1?host=" + server.socket_dir() + "&port=" + std::to_string(server.port());
  CHECK_THROWS_WITH(pg_value(as_reader, "SELECT system_identifier FROM pg_control_system()"), Catch::Contains("permission denied"));
  Library reader = Library::open(as_reader, false);
  CHECK(reader.media_base().parent_path().filename().string().rfind(uuid, 0) == 0);
  CHECK(reader.clip_count() == 0);  // the connection works after the refused question
}

TEST_CASE("three ingest workers share a PostgreSQL library: one killed mid-video, every video stored once, same results as SQLite", "[cli][postgres]") {
  test::TempDir tmp;
  ScopedEnv lease("XSEARCH_LEASE_SECONDS", "3");
  ::setenv("XDG_CACHE_HOME", (tmp / "cache").c_str(), 1);
  const fs::path videos = tmp / "videos";
  const char* sources[] = {"testsrc", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc2", "yuvtestsrc", "smptehdbars"};
  for (int i = 0; i < 7; ++i) test::make_video(videos / ("v" + std::to_string(i) + ".mp4"), sources[i], 3 + i % 3);
  // One long video, so that a worker is surely in the middle of it when it is killed.
  test::ffmpeg("-f lavfi -i testsrc=size=320x240:rate=25 -t 150 -c:v libx264 -preset ultrafast -pix_fmt yuv420p " +
               test::quote((videos / "long.mp4").string()));
  const std::string db = new_library("postgres", tmp.path());
  const std::string ingest = test::quote(XSEARCH_BINARY) + " ingest " + test::quote(videos.string()) + " --db " +
                             test::quote(db) + test::model_arg() + " --quiet --json";
  // The database exists before the workers race to create its tables (they may as well: an advisory lock
  // makes one of them create it), and the long video is first for every worker.
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w)
    workers.push_back(test::spawn_shell("exec " + ingest + " > " + test::quote((tmp / ("w" + std::to_string(w) + ".json")).string())));
  // Wait for the long video's claim, then kill its worker with SIGKILL before it stores the video.
  std::string holder;
  const std::string long_path = (videos / "long.mp4").string();
  for (int i = 0; i < 600 && holder.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      holder = pg_value(db, "SELECT worker FROM claims WHERE path = '" + long_path + "'");
    } catch (const Error&) {
      // the tables may not exist yet
    }
  }
  REQUIRE_FALSE(holder.empty());
  const pid_t victim = static_cast<pid_t>(std::stoll(pg_value(db, "SELECT pid FROM workers WHERE id = '" + holder + "'")));
  REQUIRE(std::find(workers.begin(), workers.end(), victim) != workers.end());
  REQUIRE(::kill(victim, SIGKILL) == 0);
  CHECK(test::wait_child(victim).status == 128 + SIGKILL);
  REQUIRE(pg_value(db, "SELECT count(*) FROM videos WHERE path = '" + long_path + "'") == "0");  // killed before storing it
  for (pid_t w : workers)
    if (w != victim) CHECK(test::wait_child(w).status == 0);

  // Every video stored, each once (the workers' counts add up to the videos), nothing claimed or pending.
  CHECK(pg_value(db, "SELECT count(*) FROM videos WHERE status = 'indexed'") == "8");
  CHECK(pg_value(db, "SELECT sum(done) FROM workers") == "8");
  CHECK(pg_value(db, "SELECT count(*) FROM claims") == "0");
  CHECK(pg_value(db, "SELECT count(*) FROM pending") == "0");
  const auto info = test::run_json("info --db " + test::quote(db), 0);
  CHECK(info["backend"] == "postgresql");
  CHECK(info["work"]["done"] == 8);
  CHECK(info["work"]["claimed"] == 0);
  CHECK(info["work"]["pending"] == 0);
  CHECK(info["work"]["live_workers"] == 0);
  int gone = 0, done = 0;
  for (const auto& w : info["work"]["workers"]) {
    gone += w["status"] == "gone";
    done += w["status"] == "done";
  }
  CHECK(gone == 1);  // the killed one: running, its lease lapsed
  CHECK(done == 2);

  // The same folder in a SQLite library: the same clips, and a query from a fourth process ranks the same.
  const fs::path sqlite_db = tmp / "lib.db";
  test::run_json("ingest " + test::quote(videos.string()) + " --db " + test::quote(sqlite_db.string()) + test::model_arg() + " --quiet", 0);
  CHECK(pg_value(db, "SELECT count(*) FROM clips") == test::sqlite_value(sqlite_db, "SELECT count(*) FROM clips"));
  for (const std::string text : {"a colorful test pattern", "bars of color", "a fractal"}) {
    const auto on_pg = test::run_json("query " + test::quote(text) + " --db " + test::quote(db) + test::model_arg() + " -k 6", 0);
    const auto on_sqlite = test::run_json("query " + test::quote(text) + " --db " + test::quote(sqlite_db.string()) + test::model_arg() + " -k 6", 0);
    REQUIRE(on_pg["results"].size() == on_sqlite["results"].size());
    for (std::size_t i = 0; i < on_pg["results"].size(); ++i) {
      const auto &p = on_pg["results"][i], &s = on_sqlite["results"][i];
      CHECK(p["path"] == s["path"]);
      CHECK(p["start"] == s["start"]);
      CHECK(p["end"] == s["end"]);
      // The same model on the same frames, but in other batches (each worker batches the clips it decodes):
      // a batch's composition moves float32 sums by a few ulps, 1e-7 at these magnitudes; 1e-6 leaves
      // room and still catches any stored value read back wrong.
      CHECK(p["score"].get<double>() == Approx(s["score"].get<double>()).margin(1e-6));
    }
  }
}

TEST_CASE("claims on a PostgreSQL library: one holder at a time, taken over after the lease, and a lapsed holder stores nothing", "[postgres]") {
  test::TempDir tmp;
  const std::string db = new_library("postgres", tmp.path());
  std::mt19937 rng(2);
  Library a = Library::open(db, true), b = Library::open(db, true);
  a.claim_model({"m", "fp", 4});
  a.begin_work(2);
  b.begin_work(2);
  VideoRecord video = record("/v/p.mp4");
  CHECK(a.claim_video(video.path, video.fingerprint, video.size, video.mtime_ns) == Library::Claim::Mine);
  CHECK(a.claim_video(video.path, video.fingerprint, video.size, video.mtime_ns) == Library::Claim::Mine);  // ours already
  CHECK(b.claim_video(video.path, video.fingerprint, video.size, video.mtime_ns) == Library::Claim::Taken);
  // Renewed every second: still a's a whole second after the first 2 s lease would have ended (3 s), so
  // that a heartbeat which renews the worker but not its claims fails here, on a loaded machine too (with
  // one heartbeat and the check at 2.5 s, such a mutant once passed); the gaps of 1 s leave a loaded
  // machine a second of slack before the honest lease could lapse.
  for (int i = 0; i < 3; ++i) {
    a.heartbeat();
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  }
  CHECK(b.claim_video(video.path, video.fingerprint, video.size, video.mtime_ns) == Library::Claim::Taken);
  // a stops renewing: after the lease b takes the video over, and a can no longer store it.
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  CHECK(b.claim_video(video.path, video.fingerprint, video.size, video.mtime_ns) == Library::Claim::Mine);
  CHECK_THROWS_AS(a.save_video(video, clips_of(rng, 2, 4)), ClaimLost);
  CHECK(a.clip_count() == 0);
  const auto saved = b.save_video(video, clips_of(rng, 3, 4));
  CHECK(saved.clip_ids.size() == 3);
  // Stored: whoever asks now is told it is done.
  CHECK(a.claim_video(video.path, video.fingerprint, video.size, video.mtime_ns) == Library::Claim::Done);
  CHECK(pg_value(db, "SELECT count(*) FROM claims") == "0");
  CHECK(pg_value(db, "SELECT sum(done) FROM workers") == "1");
  b.end_work("done");
  a.end_work("done");
}

TEST_CASE("a PostgreSQL library reports a file whose name is not UTF-8 as that file's failure and stores the others", "[cli][postgres]") {
  test::TempDir tmp;
  ::setenv("XDG_CACHE_HOME", (tmp / "cache").c_str(), 1);
  test::make_video(tmp / "videos" / "good.mp4", "testsrc", 3);
  const fs::path bad = tmp / "videos" / std::string("bad\xff.mp4");
  fs::copy_file(tmp / "videos" / "good.mp4", bad);
  const std::string db = new_library("postgres", tmp.path());
  const auto r = test::xsearch_run("ingest " + test::quote((tmp / "videos").string()) + " --db " + test::quote(db) + test::model_arg() + " --quiet --json");
  INFO(r.err);
  CHECK(r.status == 3);  // some files had problems (the README's exit statuses)
  CHECK_THAT(r.err, Catch::Contains("not valid UTF-8"));
  const auto out = nlohmann::json::parse(r.out);
  CHECK(out["indexed"] == 1);
  CHECK(out["failed"] == 1);
  CHECK(pg_value(db, "SELECT count(*) FROM videos") == "1");
}
