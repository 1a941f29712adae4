// Fuzz target: the hub's HTTP response headers (src/hub/response_headers.cpp), everything a hostile server
// or mirror (HF_ENDPOINT) controls before a byte is written: the header block of one response is parsed,
// then checked as the metadata of a file (ETag, X-Repo-Commit, sizes). What passes the checks must be safe
// to use as a file name in the cache: a git sha1 or sha256 in lower-case hex, a 40-hex commit. Bad input
// must end in xsearch::Error.
#include <string>

#include "hub/response_headers.hpp"
#include "xsearch/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto headers = xsearch::hub::parse_response_headers(text, "https://hub.example/o/n/resolve/main/f");
    if (headers.content_length < -1 || headers.linked_size < -1) __builtin_trap();
    if (headers.content_range) {
      const auto& r = *headers.content_range;
      if (r.first >= 0 && r.last < r.first) __builtin_trap();  // a range that parses is ordered
    }
    const auto meta = xsearch::hub::hub_file_metadata(headers, "o/n", "f");
    if (!xsearch::hub::is_git_sha1(meta.etag) && !xsearch::hub::is_sha256(meta.etag)) __builtin_trap();
    if (!meta.commit.empty() && !xsearch::hub::is_git_sha1(meta.commit)) __builtin_trap();
    for (const char c : meta.etag + meta.commit)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) __builtin_trap();
  } catch (const xsearch::Error&) {
  }
  return 0;
}
