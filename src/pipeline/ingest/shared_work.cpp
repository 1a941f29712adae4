#include "pipeline/ingest/shared_work.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>

namespace xsearch::pipeline {

namespace {

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), as PostgreSQL requires.
bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(n) >= s.size()) return false;  // cut short
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static const uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
    if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<std::size_t>(n) + 1;
  }
  return true;
}

}  // namespace

std::vector<FoundFile> storable_names(const std::vector<FoundFile>& files, const Reporter& reporter) {
  std::vector<FoundFile> out;
  for (const auto& f : files) {
    if (valid_utf8(f.path)) out.push_back(f);
    else reporter.failure(f.path, "the name is not valid UTF-8, which a PostgreSQL library cannot store");
  }
  return out;
}

int lease_seconds() {
  const char* env = std::getenv("XSEARCH_LEASE_SECONDS");
  const long v = env && *env ? std::atol(env) : 60;
  return static_cast<int>(std::clamp<long>(v, 2, 86400));
}

SharedWork::SharedWork(Library& library, const std::vector<Job>& jobs, std::function<bool()> stop)
    : library_(library), shared_(library.shared()) {
  if (!shared_) return;
  lease_seconds_ = lease_seconds();
  library_.begin_work(lease_seconds_, std::move(stop));
  std::vector<std::string> paths;
  for (const auto& job : jobs) paths.push_back(job.file.path);
  library_.plan_work(paths);
}

SharedWork::~SharedWork() {
  try {
    end("failed");  // a no-op when end() ran; else the run is leaving by an exception
  } catch (...) {
  }
}

void SharedWork::start(std::function<void()> lost) {
  if (!shared_) return;
  heartbeat_ = std::thread([this, lost = std::move(lost)] {
    // Four renewals per lease: a claim outlives a missed renewal or two.
    const auto every = std::chrono::milliseconds(lease_seconds_ * 1000 / 4);
    auto last_ok = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, every, [this] { return stopping_; })) {
      lock.unlock();
      bool ok = true;
      try {
        library_.heartbeat();
      } catch (const std::exception& e) {
        ok = false;
        std::lock_guard<std::mutex> hold(mutex_);
        if (std::chrono::steady_clock::now() - last_ok > std::chrono::seconds(lease_seconds_)) error_ = e.what();
      }
      if (ok) last_ok = std::chrono::steady_clock::now();
      lock.lock();
      if (!error_.empty()) {
        lock.unlock();
        lost();
        return;
      }
    }
  });
}

ClaimJob SharedWork::claimer() {
  if (!shared_) return {};
  return [this](const Job& job) {
    switch (library_.claim_video(job.file.path, job.fingerprint, job.file.size, job.file.mtime_ns)) {
      case Library::Claim::Mine: return JobClaim::Mine;
      case Library::Claim::Done: return JobClaim::Done;
      default: return JobClaim::Taken;
    }
  };
}

std::string SharedWork::error() const {
  std::lock_guard<std::mutex> hold(mutex_);
  return error_;
}

void SharedWork::end(const std::string& status) {
  if (!shared_ || ended_) return;
  ended_ = true;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  library_.end_work(status);
}

}  // namespace xsearch::pipeline
