#include "serve/example_route.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "serve/guarded_server.hpp"
#include "serve/server.hpp"
#include "xsearch/error.hpp"

namespace xsearch::serve {

namespace fs = std::filesystem;

std::pair<int, std::string> example_refusal(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return {411, "send the file with a Content-Length (chunked bodies are not accepted)"};
  const std::string length = req.get_header_value("Content-Length");
  if (length.empty() || length.find_first_not_of("0123456789") != std::string::npos) return {411, "send the file with a Content-Length"};
  if (length.size() > 18 || std::stoll(length) > kMaxExampleBytes)
    return {413, "the file is larger than " + std::to_string(kMaxExampleBytes / (1024 * 1024)) + " MiB: drop a shorter clip or a still"};
  if (std::stoll(length) == 0) return {400, "the file is empty"};
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  if (type != "application/octet-stream") return {415, "send the file as application/octet-stream (got \"" + type.substr(0, 60) + "\")"};
  return {0, ""};
}

ReceivedExample::ReceivedExample(UploadFolder& folder, const httplib::ContentReader& reader) : base_(folder.fresh()) {
  file_ = base_.string() + ".upload";
  // O_EXCL and O_NOFOLLOW in our 0700 folder: nothing put there by someone else is ever written through.
  const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(file_.string() + ": cannot store the dropped file: " + std::strerror(errno));
  std::string head;
  int write_errno = 0;
  // A drop trickled in (a byte now and then, each inside the socket's read timeout) would hold one of
  // serve's few workers for as long as the client likes: 512 MiB at a byte a second is years. It gets the
  // slow reader's terms (guarded_server.hpp): the grace, then at least min_send_rate bytes a second on
  // average; below that it is cut and answered 408.
  const ConnectionLimits limits = ConnectionLimits::from_environment();
  const auto started = std::chrono::steady_clock::now();
  reader([&](const char* data, size_t n) {
    if (head.size() < 16) head.append(data, std::min<size_t>(n, 16 - head.size()));
    for (size_t done = 0; done < n;) {
      const ssize_t w = ::write(fd, data + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        write_errno = w < 0 ? errno : EIO;
        return false;
      }
      done += static_cast<size_t>(w);
    }
    bytes_ += static_cast<long long>(n);
    const auto allowed = std::chrono::seconds(limits.send_grace_seconds) +
                         std::chrono::duration<double>(static_cast<double>(bytes_) / static_cast<double>(limits.min_send_rate));
    if (std::chrono::steady_clock::now() - started > allowed) {
      too_slow_ = true;
      return false;
    }
    return true;
  });
  ::close(fd);
  if (write_errno != 0) throw Error(file_.string() + ": cannot store the dropped file: " + std::strerror(write_errno));
  kind_ = sniff_media(head);
}

ReceivedExample::~ReceivedExample() {
  // The upload and the helper's files (<n>.upload.npy, .out, .err and their temporary names).
  const std::string prefix = base_.filename().string() + ".";
  std::error_code ec;
  for (fs::directory_iterator it(base_.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code rm;
    if (name.compare(0, prefix.size(), prefix) == 0 && fs::is_regular_file(fs::symlink_status(it->path(), rm))) fs::remove(it->path(), rm);
  }
}

std::string shown_example_name(const std::string& name) {
  std::string s = name.substr(name.find_last_of("/\\") == std::string::npos ? 0 : name.find_last_of("/\\") + 1);
  if (s.size() > 200) {
    std::size_t n = 200;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // not inside a UTF-8 character
    s.resize(n);
  }
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s.empty() ? "dropped file" : s;
}

}  // namespace xsearch::serve
