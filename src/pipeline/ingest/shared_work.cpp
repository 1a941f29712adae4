#include "pipeline/ingest/shared_work.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace xsearch::pipeline {

int lease_seconds() {
  const char* env = std::getenv("XSEARCH_LEASE_SECONDS");
  const long v = env && *env ? std::atol(env) : 60;
  return static_cast<int>(std::clamp<long>(v, 2, 86400));
}

SharedWork::SharedWork(Library& library, const std::vector<Job>& jobs) : library_(library), shared_(library.shared()) {
  if (!shared_) return;
  lease_seconds_ = lease_seconds();
  library_.begin_work(lease_seconds_);
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
