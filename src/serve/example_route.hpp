// POST /api/example, the page's drop zone: one image or video as the request body, checked before it is
// read (its length, its type), streamed to a private file (serve/upload_folder.hpp), recognised by its
// first bytes (serve/media_sniff.hpp), embedded with the library's model, searched, and deleted.
#pragma once

#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "serve/media_sniff.hpp"
#include "serve/upload_folder.hpp"

namespace xsearch::serve {

// Before the body is read: {0, ""} when the drop may be read, else the status and why (411 without a
// Content-Length, 413 over kMaxExampleBytes, 415 for a Content-Type other than application/octet-stream:
// a cross-site form cannot send that type without a preflight, which serve refuses).
std::pair<int, std::string> example_refusal(const httplib::Request& req);

// How many drops may be embedded at once: each runs the vision model (its memory, every core) outside
// the query lock, so that text queries keep answering meanwhile. A drop beyond that is answered 503 with
// Retry-After (before its body when it can be, else once it has been read).
inline constexpr int kMaxExamplesAtOnce = 1;
inline constexpr const char* kExampleRetrySeconds = "5";

class ExampleSlots {
 public:
  // A slot held until it goes out of scope; empty when none was free.
  using Slot = std::unique_ptr<ExampleSlots, void (*)(ExampleSlots*)>;
  bool full() const { return free_.load() <= 0; }
  Slot take() {
    int n = free_.load();
    while (n > 0 && !free_.compare_exchange_weak(n, n - 1)) {
    }
    return Slot(n > 0 ? this : nullptr, [](ExampleSlots* s) { s->free_.fetch_add(1); });
  }

 private:
  std::atomic<int> free_{kMaxExamplesAtOnce};
};

// A drop being handled: its files in the upload folder, all removed when this goes out of scope.
class ReceivedExample {
 public:
  ReceivedExample(UploadFolder& folder, const httplib::ContentReader& reader);
  ~ReceivedExample();
  ReceivedExample(const ReceivedExample&) = delete;
  ReceivedExample& operator=(const ReceivedExample&) = delete;

  const std::filesystem::path& file() const { return file_; }
  MediaKind kind() const { return kind_; }
  long long bytes() const { return bytes_; }
  // The body came slower than serve's minimum rate after its grace and was cut: the file is partial.
  bool too_slow() const { return too_slow_; }

 private:
  std::filesystem::path base_, file_;
  MediaKind kind_ = MediaKind::none;
  long long bytes_ = 0;
  bool too_slow_ = false;
};

// The file name the page sent (`name`), as shown: its last path component, at most 200 bytes, control
// characters replaced; "dropped file" when empty.
std::string shown_example_name(const std::string& name);

}  // namespace xsearch::serve
