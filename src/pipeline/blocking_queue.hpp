// A bounded multi-producer queue: producers wait while it is full (bounded memory), the consumer waits
// while it is empty; close() wakes everyone once the producers are done.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace xsearch::pipeline {

template <typename T>
class BlockingQueue {
 public:
  explicit BlockingQueue(std::size_t capacity) : capacity_(capacity) {}

  // False when the queue was closed (the consumer gave up): the producer should stop.
  bool push(T item) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // Empty optional once closed and drained.
  std::optional<T> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // Like pop(), but gives up after `wait` (with `timed_out` set), so the consumer can poll for a stop.
  template <typename Duration>
  std::optional<T> pop_for(Duration wait, bool& timed_out) {
    std::unique_lock<std::mutex> lock(mutex_);
    timed_out = !not_empty_.wait_for(lock, wait, [&] { return !items_.empty() || closed_; });
    if (timed_out || items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // Whether close() was called (a producer may ask while it works on the next item).
  bool closed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
  }

  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::size_t capacity_;
  std::deque<T> items_;
  bool closed_ = false;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
};

}  // namespace xsearch::pipeline
