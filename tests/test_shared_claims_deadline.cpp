// Issue 22 on a real PostgreSQL server (pg_server.hpp): the backend serving an ingest worker's claims
// connection stops answering while staying alive at the TCP level (SIGSTOP: what a hung server or a long
// lock wait looks like to the client, and what TCP keepalives never see). Every round trip on that
// connection is bounded by the lease: the run ends with a clear error instead of hanging, Ctrl-C still ends
// it within 2 s, and what it committed stays while its unfinished video is left for the next run.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "db/postgres.hpp"
#include "helpers.hpp"
#include "library_backends.hpp"
#include "library_helpers.hpp"
#include "xsearch/error.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

namespace {

// What busy.mp4 is: a read in its middle never returns (read_error_preload.cpp), so that the video can
// never be stored by the run; 150 s long (stored seconds later: enough for a stop request); or as short
// as the others.
enum class Busy { stalls, long_video, short_video };

// A shared ingest of three videos in the background, its stdout and stderr in files. The worker is still
// busy with busy.mp4 when its claims backend is stopped.
struct BackgroundIngest {
  test::TempDir tmp;
  std::string db;
  fs::path videos = tmp / "videos";
  std::string busy_path = (videos / "busy.mp4").string();
  std::string env;
  pid_t pid = 0;

  explicit BackgroundIngest(Busy busy) {
    ::setenv("XDG_CACHE_HOME", (tmp / "cache").c_str(), 1);
    test::make_video(videos / "a.mp4", "testsrc", 3);
    test::make_video(videos / "b.mp4", "smptebars", 3);
    if (busy == Busy::short_video) {
      test::make_video(busy_path, "rgbtestsrc", 3);
    } else if (busy == Busy::stalls) {
      // Noise: several megabytes in 3 s, so that the stalled bytes (1.5 to 1.75 MB) lie outside the three
      // megabytes the fingerprint reads (first, middle, last), and only the decoder meets them.
      test::ffmpeg("-f lavfi -i " + test::quote("nullsrc=s=320x240:r=25,geq=random(1)*255:128:128") + " -t 3 -c:v mpeg4 -q:v 1 " + test::quote(busy_path));
      REQUIRE(fs::file_size(busy_path) > 5000000);
      env = "env LD_PRELOAD=" + test::quote(XSEARCH_READ_ERROR_PRELOAD) + " XSEARCH_TEST_READ_STALL=" + test::quote("1500000-1750000:" + busy_path) + " ";
    } else {
      test::ffmpeg("-f lavfi -i testsrc=size=320x240:rate=25 -t 150 -c:v libx264 -preset ultrafast -pix_fmt yuv420p " + test::quote(busy_path));
    }
    db = test::new_library("postgres", tmp.path());
  }
  std::string ingest() const {
    return "ingest " + test::quote(videos.string()) + " --db " + test::quote(db) + test::model_arg() + " --json";
  }
  void start() {
    pid = test::spawn_shell("exec " + env + test::quote(XSEARCH_BINARY) + " " + ingest() + " >" + test::quote((tmp / "out").string()) + " 2>" +
                            test::quote((tmp / "err").string()));
  }
  std::string err() const { return test::read_file(tmp / "err"); }
  ~BackgroundIngest() {  // a test that failed before it waited for the run
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

// The claims backend of the ingest, stopped with SIGSTOP while idle, and always let go on again (SIGCONT)
// when this goes: a failing test must never leave a stopped postgres behind.
struct StoppedBackend {
  pid_t pid = 0;
  ~StoppedBackend() { resume(); }
  void resume() {
    if (pid > 0) ::kill(pid, SIGCONT);
    pid = 0;
  }
  // Waits (bounded) for busy.mp4's claim, then stops the backend of the connection named "xsearch
  // claims". Only while it is idle: a backend stopped inside a statement may hold row locks on the claims
  // that the worker's other connection then waits for, which is another issue (a lock wait on the main
  // connection). pg_stat_activity says 'idle' only once the statement's transaction has ended.
  void stop(const BackgroundIngest& run) {
    std::string backend;
    for (int i = 0; i < 1200 && backend.empty(); ++i) {  // up to 60 s for the walk, the model and the first claims
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      try {
        if (test::sql_value(run.db, "SELECT count(*) FROM claims WHERE path = '" + run.busy_path + "'") == "1")
          backend = test::sql_value(run.db, "SELECT pid FROM pg_stat_activity WHERE application_name = 'xsearch claims' AND datname = current_database()");
      } catch (const Error&) {
        // the tables may not exist yet
      }
    }
    REQUIRE_FALSE(backend.empty());
    const pid_t target = static_cast<pid_t>(std::stoll(backend));
    for (int i = 0; i < 200; ++i) {  // a renewal takes a millisecond every half second: a few tries at most
      REQUIRE(::kill(target, SIGSTOP) == 0);
      pid = target;
      if (test::sql_value(run.db, "SELECT state FROM pg_stat_activity WHERE pid = " + backend) == "idle") return;
      resume();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("the claims backend was never idle");
  }
};

// Waits for the run up to `limit` seconds: its exit status (128 + N when killed by signal N), or -1 if it
// still runs then (it is then killed, its backend let go on first). *seconds gets the time waited.
int wait_child_within(BackgroundIngest& run, double limit, double* seconds, StoppedBackend& backend) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    int raw = 0;
    const pid_t r = ::waitpid(run.pid, &raw, WNOHANG);
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r == run.pid) {
      run.pid = 0;
      return WIFEXITED(raw) ? WEXITSTATUS(raw) : WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : -1;
    }
    if (*seconds > limit) {
      backend.resume();
      ::kill(run.pid, SIGKILL);
      ::waitpid(run.pid, &raw, 0);
      run.pid = 0;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // fine against the bounds below
  }
}

// How the run ended: its status as above, the seconds waited, its stderr.
struct Ended {
  int status = -1;
  double seconds = 0;
  std::string err;
};
Ended wait_end(BackgroundIngest& run, double limit, StoppedBackend& backend, const char* since) {
  Ended e;
  e.status = wait_child_within(run, limit, &e.seconds, backend);
  e.err = run.err();
  WARN("the ingest ended " << e.seconds << " s after " << since);
  return e;
}

// SIGINT to the run: it ends as stopped (130) within 2 s, as after any stop request.
Ended interrupt(BackgroundIngest& run, StoppedBackend& backend) {
  REQUIRE(::kill(run.pid, SIGINT) == 0);
  Ended e = wait_end(run, 10, backend, "SIGINT");
  INFO(e.err);
  CHECK(e.status == 130);
  CHECK(e.seconds < 2.0);
  return e;
}

// A second ingest of the folder finishes what the first left: every video stored once and counted once
// over the workers, nothing left claimed or pending.
void second_ingest_finishes(const BackgroundIngest& run) {
  const auto second = test::xsearch_run(run.ingest());
  INFO(second.err);
  CHECK(second.status == 0);
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM videos WHERE status = 'indexed'") == "3");
  CHECK(test::sql_value(run.db, "SELECT sum(done) FROM workers") == "3");
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM claims") == "0");
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM pending") == "0");
}

}  // namespace

TEST_CASE("a PostgreSQL connection with bounded round trips gives a statement up when the server does not answer in time, then fails at once", "[postgres]") {
  const std::string conninfo = test::PgServer::shared().create_database();
  std::atomic<bool> stop{false};
  db::PgConnection c(conninfo, "xsearch bounded test");
  c.limit_round_trips(std::chrono::milliseconds(1500), [&] { return stop.load(); });
  CHECK(c.prepare("SELECT 41 + 1").step());  // answered in time: as without a limit
  // A statement the server takes 30 s over (pg_sleep: a lock wait or a hung server, seen from here).
  auto elapsed = [start = std::chrono::steady_clock::now()] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  CHECK_THROWS_WITH(c.prepare("SELECT pg_sleep(30)").step(),
                    Catch::Contains("no answer from the PostgreSQL server within 1.5 s") && Catch::Contains(c.path()));
  // 1.5 s, then a shutdown that returns at once; 10 s leaves room on a loaded machine, far below 30 s.
  CHECK(elapsed() < 10);
  CHECK(elapsed() >= 1.4);
  // Given up for good: the next statements (prepared or not) fail at once with the same cause.
  CHECK_THROWS_WITH(c.prepare("SELECT 1").step(), Catch::Contains("no answer from the PostgreSQL server within 1.5 s"));
  CHECK_THROWS_WITH(c.exec("SELECT 1"), Catch::Contains("no answer from the PostgreSQL server within 1.5 s"));
  CHECK(elapsed() < 10);

  // A stop request: a statement answered at once still is; one that waits gets 0.5 s more, not the limit.
  db::PgConnection d(conninfo, "xsearch bounded test");
  d.limit_round_trips(std::chrono::seconds(60), [&] { return stop.load(); });
  stop = true;
  d.exec("SELECT 1");
  const auto t = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(d.exec("SELECT pg_sleep(30)"), Catch::Contains("no answer from the PostgreSQL server within 0.5 s of the stop request"));
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count() < 5);  // 0.5 s, and room for a loaded machine

  // A server slow on every statement after the stop, each answered within the 0.5 s: the connection's
  // statements since the stop still end 1.5 s after the first of them, not 0.5 s after the last.
  db::PgConnection e(conninfo, "xsearch bounded test");
  e.limit_round_trips(std::chrono::seconds(60), [&] { return stop.load(); });
  const auto t0 = std::chrono::steady_clock::now();
  std::string failure;
  int answered = 0;
  for (int i = 0; i < 10 && failure.empty(); ++i) {  // 10 x 0.3 s = 3 s without the total
    try {
      e.exec("SELECT pg_sleep(0.3)");
      ++answered;
    } catch (const Error& ex) {
      failure = ex.what();
    }
  }
  const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(answered << " statements answered in " << spent << " s");
  // 1.5 s in all; or 0.5 s for one statement when the machine is so loaded that a 0.3 s sleep takes longer.
  CHECK_THAT(failure, Catch::Contains("within 1.5 s of the stop request") || Catch::Contains("within 0.5 s of the stop request"));
  CHECK(spent < 2.5);  // 1.5 s and room for a loaded machine; 3 s without the total

  // A statement larger than the socket's buffers (a save's many clips) to a backend that stopped reading
  // (SIGSTOP): sending it waits under the limit too, not in a write that never returns.
  db::PgConnection f(conninfo, "xsearch bounded test");
  f.limit_round_trips(std::chrono::milliseconds(1500), [] { return false; });
  pid_t backend = 0;
  {
    auto pid = f.prepare("SELECT pg_backend_pid()::bigint");
    REQUIRE(pid.step());
    backend = static_cast<pid_t>(pid.int64(0));
  }
  StoppedBackend stopped;  // let go on again however this ends
  REQUIRE(::kill(backend, SIGSTOP) == 0);
  stopped.pid = backend;
  const std::string large(8 << 20, 'x');
  auto statement = f.prepare("SELECT length(?)");
  statement.bind_blob(1, large.data(), large.size());
  const auto t1 = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(statement.step(), Catch::Contains("no answer from the PostgreSQL server within 1.5 s"));
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() < 10);  // 1.5 s, room for load
}

TEST_CASE("a shared ingest whose claims backend stops answering (SIGSTOP) fails within a bound, and a second ingest finishes its videos", "[cli][postgres]") {
  test::ScopedEnv lease("XSEARCH_LEASE_SECONDS", "2");
  BackgroundIngest run(Busy::stalls);
  run.start();
  StoppedBackend backend;
  backend.stop(run);
  // The next renewal (every quarter lease) or claim waits for an answer for a lease (2 s), then the
  // connection is given up and the heartbeat says the claims are lost at once (nothing renewed them for a
  // lease); the decoders stop (the stuck one is left behind 1 s after) and the run is recorded. About 4 s;
  // 20 s leaves room on a loaded machine. Without the deadline the run never ends.
  const Ended end = wait_end(run, 20, backend, "its claims backend was stopped");
  INFO(end.err);
  CHECK(end.status == 2);
  CHECK(end.err.find("no answer from the PostgreSQL server within 2 s") != std::string::npos);
  CHECK(end.err.find(run.db.substr(0, run.db.find('?'))) != std::string::npos);  // the server is named
  backend.resume();

  // Every video is either stored (and counted as the worker's) or still to do, busy.mp4 surely.
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM pending WHERE path = '" + run.busy_path + "'") == "1");
  const std::string stored_before = test::sql_value(run.db, "SELECT count(*) FROM videos");
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM pending") == std::to_string(3 - std::stoi(stored_before)));
  CHECK(test::sql_value(run.db, "SELECT done FROM workers") == stored_before);  // the one worker so far
  // A second worker takes the lapsed claims over (2 s after the last renewal) and finishes the videos.
  second_ingest_finishes(run);
}

TEST_CASE("Ctrl-C ends a shared ingest within 2 s while its claims backend does not answer (SIGSTOP)", "[cli][postgres]") {
  // A long lease: the round trip that waits is cut by the stop request, not by its deadline.
  test::ScopedEnv lease("XSEARCH_LEASE_SECONDS", "60");
  BackgroundIngest run(Busy::long_video);
  run.start();
  StoppedBackend backend;
  backend.stop(run);
  // Whichever round trip waits for its answer at the stop (a claim, a renewal, else the claims given back
  // at the end) gets 0.5 s more, not the lease.
  const Ended end = interrupt(run, backend);
  CHECK(end.err.find("no answer from the PostgreSQL server within 0.5 s of the stop request") != std::string::npos);
  backend.resume();
  CHECK(test::sql_value(run.db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == "interrupted");
  const std::string stored = test::sql_value(run.db, "SELECT count(*) FROM videos");
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM pending") == std::to_string(3 - std::stoi(stored)));
}

namespace {

// The test's own connection holding the videos table in EXCLUSIVE mode, in a transaction left open: reads
// of it pass, and every write waits. To a worker this is what another worker's backend stopped in the
// middle of its save looks like: its turn to store never comes. Creates the library's tables first (an
// ingest of an empty folder) so that there is a table to lock.
struct HeldVideosLock {
  std::unique_ptr<db::PgConnection> c;
  explicit HeldVideosLock(const BackgroundIngest& run) {
    fs::create_directories(run.tmp / "empty");
    const auto made = test::xsearch_run("ingest " + test::quote((run.tmp / "empty").string()) + " --db " + test::quote(run.db) + test::model_arg());
    INFO(made.err);
    REQUIRE(made.status == 0);
    c = std::make_unique<db::PgConnection>(run.db, "xsearch test lock");
    c->exec("BEGIN");
    c->exec("LOCK TABLE videos IN EXCLUSIVE MODE");
  }
  void release() { c.reset(); }  // the connection's end rolls its transaction back
};

// Waits (bounded) until a backend of the library's database waits for a lock: the worker's save.
void wait_for_a_lock_wait(const std::string& db) {
  for (int i = 0; i < 1200; ++i) {  // up to 60 s for the walk, the model and the first video
    if (test::sql_value(db, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()") != "0") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("no save ever waited for the lock");
}

}  // namespace

TEST_CASE("a shared ingest whose turn to store never comes (another backend holds the lock) fails after XSEARCH_STORE_WAIT_SECONDS, and a second ingest stores every video once", "[cli][postgres]") {
  test::ScopedEnv lease("XSEARCH_LEASE_SECONDS", "2");
  test::ScopedEnv store_wait("XSEARCH_STORE_WAIT_SECONDS", "20");  // an hour by default
  BackgroundIngest run(Busy::short_video);
  HeldVideosLock lock(run);
  run.start();
  wait_for_a_lock_wait(run.db);
  // The save's statement waits for the lock for 20 s, then the storing connection is given up and the
  // run ends. Without the bound it waits for as long as the lock is held: forever here.
  StoppedBackend none;
  const Ended end = wait_end(run, 90, none, "its save began to wait");  // 20 s, and room for a loaded machine
  INFO(end.err);
  CHECK(end.status == 2);
  CHECK(end.err.find("no answer from the PostgreSQL server within 20 s") != std::string::npos);
  CHECK(end.seconds >= 15);  // 20 s, less the time the save's wait had already run when it was seen
  lock.release();
  {  // a bad value is refused, by name
    test::ScopedEnv bad("XSEARCH_STORE_WAIT_SECONDS", "1h");
    const auto refused = test::xsearch_run(run.ingest());
    CHECK(refused.status == 2);
    CHECK_THAT(refused.err, Catch::Contains("XSEARCH_STORE_WAIT_SECONDS: expected a whole number of seconds"));
  }

  // Nothing was stored (every save waited); the claims went back at the run's end; all still to do.
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM videos") == "0");
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM pending") == "3");
  second_ingest_finishes(run);
}

TEST_CASE("Ctrl-C ends a shared ingest within 2 s while its save waits for a lock that another backend holds", "[cli][postgres]") {
  test::ScopedEnv lease("XSEARCH_LEASE_SECONDS", "60");  // an hour's bound: the stop ends the wait
  BackgroundIngest run(Busy::short_video);
  HeldVideosLock lock(run);
  run.start();
  wait_for_a_lock_wait(run.db);
  StoppedBackend none;
  const Ended end = interrupt(run, none);
  CHECK(end.err.find("of the stop request") != std::string::npos);
  lock.release();
  // The claims went back (their connection answers): the videos are free for the next run at once.
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM claims") == "0");
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM videos") == "0");
  CHECK(test::sql_value(run.db, "SELECT count(*) FROM pending") == "3");
}
