// POST /api/example, the page's drop zone: one image or video as the request body, checked before it is
// read (its length, its type), streamed to a private file (serve/upload_folder.hpp), recognised by its
// first bytes (serve/media_sniff.hpp), embedded with the library's model, searched, and deleted.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <string>
#include <utility>

#include "serve/media_sniff.hpp"
#include "serve/upload_folder.hpp"

namespace xsearch::serve {

// Before the body is read: {0, ""} when the drop may be read, else the status and why (411 without a
// Content-Length, 413 over kMaxExampleBytes, 415 for a Content-Type other than application/octet-stream:
// a cross-site form cannot send that type without a preflight, which serve refuses).
std::pair<int, std::string> example_refusal(const httplib::Request& req);

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
