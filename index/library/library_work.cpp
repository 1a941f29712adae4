// Shared ingest on a PostgreSQL library: workers, their claims on videos, and the paths still to do.
//
// A worker claims a path before it decodes it; the claim is a lease in server time (clocks of the workers'
// machines do not matter), renewed by heartbeat() while the worker lives. A worker killed mid-video stops
// renewing, and after the lease any other worker takes the path over. save_video() stores a claimed video
// only while the claim is still this worker's, in the same transaction that deletes the claim and the
// pending row and counts the worker's work: a video is stored once, whoever embedded it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include "library_impl.hpp"
#include "xsearch/error.hpp"
#include "xsearch/settings.hpp"

namespace xsearch {

namespace {

// Server time in seconds, for leases.
constexpr const char* kNow = "CAST(extract(epoch FROM clock_timestamp()) AS BIGINT)";

// How long a statement of the storing connection may wait for its answer: $XSEARCH_STORE_WAIT_SECONDS,
// else an hour or ten leases, whichever is longer.
std::chrono::seconds store_wait(int lease_seconds) {
  const char* env = std::getenv("XSEARCH_STORE_WAIT_SECONDS");
  if (!env || !*env) return std::max(std::chrono::seconds(3600), std::chrono::seconds(lease_seconds) * 10);
  return std::chrono::seconds(whole_seconds_setting("XSEARCH_STORE_WAIT_SECONDS", env));
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

bool Library::shared() const { return impl_->shared; }

void Library::Impl::finish_claim(const std::string& video_path) {
  if (!shared || worker.empty()) return;
  // Inside the caller's transaction: the claim must still be ours (a worker whose lease lapsed and whose
  // video another worker took over must not store it too); the video is no longer pending; one more done.
  auto mine = conn->prepare("DELETE FROM claims WHERE path = ? AND worker = ?");
  mine.bind(1, video_path).bind(2, worker).run();
  if (conn->changes() != 1) throw ClaimLost(video_path + ": this worker's claim lapsed and another worker took the video over");
  conn->prepare("DELETE FROM pending WHERE path = ?").bind(1, video_path).run();
  conn->prepare("UPDATE workers SET done = done + 1 WHERE id = ?").bind(1, worker).run();
}
std::filesystem::path Library::media_base() const { return impl_->local_base; }

void Library::begin_work(int lease_seconds, std::function<bool()> stop) {
  auto& impl = *impl_;
  if (!impl.shared) return;
  if (!impl.writable) throw Error(impl.path.string() + ": an ingest needs a writable library");
  impl.lease_seconds = std::max(2, lease_seconds);
  const std::chrono::seconds store_limit = store_wait(impl.lease_seconds);  // a bad value stops the run first
  // A server that never answers (a stopped or hung backend: TCP keepalives do not see it) must not hang the
  // worker: an answer later than the lease comes after the claims lapsed anyway. The name lets an
  // administrator (and the tests) find this connection's backend in pg_stat_activity.
  impl.claims = db::open_postgres_bounded(impl.conninfo, "xsearch claims", std::chrono::seconds(impl.lease_seconds), stop);
  // The storing connection too, more loosely: its statements wait their turn behind other workers' saves
  // (the generation's row lock orders them), and a long video's save to a distant server may hold that
  // turn for minutes (a 10-hour video is 9,000 inserts: 7.5 minutes at 50 ms each), several workers
  // queued more. An hour (or ten leases, if longer) is far past that, and still ends a run whose turn never
  // comes (a worker's backend stopped while holding the lock) with a clear error instead of a hang.
  impl.conn->limit_round_trips(store_limit, std::move(stop));
  impl.worker = host_name() + ":" + std::to_string(::getpid()) + ":" + std::to_string(std::random_device{}() % 1000000);
  impl.conn->prepare(std::string("INSERT INTO workers (id, host, pid, started_at, last_seen, status) VALUES (?, ?, ?, ") + kNow + ", " +
                     kNow + ", 'running')")
      .bind(1, impl.worker)
      .bind(2, host_name())
      .bind(3, static_cast<int64_t>(::getpid()))
      .run();
}

Library::Claim Library::claim_video(const std::string& path, const std::string& fingerprint, int64_t size, int64_t mtime_ns) {
  auto& impl = *impl_;
  if (!impl.shared || !impl.claims) return Claim::Mine;
  std::lock_guard<std::mutex> hold(impl.claims_mutex);
  auto& c = *impl.claims;
  auto stored = [&] {
    auto s = c.prepare("SELECT count(*) FROM videos WHERE path = ? AND fingerprint = ? AND size = ? AND mtime_ns = ? AND status <> 'partial'");
    s.bind(1, path).bind(2, fingerprint).bind(3, size).bind(4, mtime_ns);
    s.step();
    return s.int64(0) > 0;
  };
  if (stored()) return Claim::Done;
  // Free, lapsed or already ours: the row is (re)written and returned; held by a live worker: no row.
  auto s = c.prepare(std::string("INSERT INTO claims (path, worker, expires_at) VALUES (?, ?, ") + kNow +
                     " + ?) ON CONFLICT (path) DO UPDATE SET worker = excluded.worker, expires_at = excluded.expires_at "
                     "WHERE claims.expires_at < " + kNow + " OR claims.worker = excluded.worker RETURNING worker");
  s.bind(1, path).bind(2, impl.worker).bind(3, static_cast<int64_t>(impl.lease_seconds));
  const bool mine = s.step();
  s.reset();
  if (!mine) return stored() ? Claim::Done : Claim::Taken;
  // Stored by another worker between the check and the claim: nothing to do after all.
  if (stored()) {
    c.prepare("DELETE FROM claims WHERE path = ? AND worker = ?").bind(1, path).bind(2, impl.worker).run();
    return Claim::Done;
  }
  return Claim::Mine;
}

void Library::release_video(const std::string& path, bool settled) {
  auto& impl = *impl_;
  if (!impl.shared || !impl.claims) return;
  std::lock_guard<std::mutex> hold(impl.claims_mutex);
  impl.claims->prepare("DELETE FROM claims WHERE path = ? AND worker = ?").bind(1, path).bind(2, impl.worker).run();
  if (settled) impl.claims->prepare("DELETE FROM pending WHERE path = ?").bind(1, path).run();
}

void Library::plan_work(const std::vector<std::string>& paths) {
  auto& impl = *impl_;
  if (!impl.shared || impl.worker.empty()) return;
  db::Transaction t(*impl.conn);
  auto s = impl.conn->prepare("INSERT INTO pending (path) VALUES (?) ON CONFLICT DO NOTHING");
  for (const auto& p : paths) s.bind(1, p).run();
  t.commit();
}

void Library::heartbeat() {
  auto& impl = *impl_;
  if (!impl.shared || !impl.claims) return;
  std::lock_guard<std::mutex> hold(impl.claims_mutex);
  auto& c = *impl.claims;
  c.prepare(std::string("UPDATE claims SET expires_at = ") + kNow + " + ? WHERE worker = ?")
      .bind(1, static_cast<int64_t>(impl.lease_seconds))
      .bind(2, impl.worker)
      .run();
  c.prepare(std::string("UPDATE workers SET last_seen = ") + kNow + " WHERE id = ?").bind(1, impl.worker).run();
}

void Library::end_work(const std::string& status) {
  auto& impl = *impl_;
  if (!impl.shared || !impl.claims) return;
  std::lock_guard<std::mutex> hold(impl.claims_mutex);
  auto& c = *impl.claims;
  c.prepare("DELETE FROM claims WHERE worker = ?").bind(1, impl.worker).run();
  c.prepare(std::string("UPDATE workers SET status = ?, last_seen = ") + kNow + " WHERE id = ?").bind(1, status).bind(2, impl.worker).run();
}

WorkStatus Library::work_status() const {
  WorkStatus w;
  auto& impl = *impl_;
  if (!impl.shared) return w;
  auto& c = *impl.conn;
  db::ReadTransaction snapshot(c);
  const int64_t lease = [&] {
    const char* env = std::getenv("XSEARCH_LEASE_SECONDS");
    return env && *env ? std::max<int64_t>(2, std::atoll(env)) : 60;
  }();
  auto s = c.prepare(std::string("SELECT id, host, status, pid, started_at, last_seen, done, last_seen + ? < ") + kNow +
                     " FROM workers ORDER BY started_at, id");
  s.bind(1, lease);
  while (s.step()) {
    WorkerRow r{s.text(0), s.text(1), s.text(2), s.int64(3), s.int64(4), s.int64(5), s.int64(6)};
    const bool lapsed = s.int64(7) != 0;
    if (r.status == "running" && lapsed) r.status = "gone";
    if (r.status == "running") ++w.live_workers;
    w.workers.push_back(std::move(r));
  }
  auto count = [&](const std::string& sql) {
    auto q = c.prepare(sql);
    q.step();
    return q.int64(0);
  };
  w.done = count("SELECT count(*) FROM videos");
  w.claimed = count(std::string("SELECT count(*) FROM claims WHERE expires_at >= ") + kNow);
  w.pending = count(std::string("SELECT count(*) FROM pending p WHERE NOT EXISTS (SELECT 1 FROM claims c WHERE c.path = p.path AND c.expires_at >= ") +
                    kNow + ")");
  return w;
}

}  // namespace xsearch
