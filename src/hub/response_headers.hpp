// The hub's HTTP response headers, parsed and checked without any I/O (so that they can be fuzzed):
// everything a server sends is hostile input until checked here. Bad values throw xsearch::Error naming
// the URL, the header and the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "io/printable.hpp"

namespace xsearch::hub {

// Content-Range: bytes FIRST-LAST/TOTAL; FIRST and LAST are -1 for "bytes */TOTAL", TOTAL -1 for "/*".
struct ContentRange {
  int64_t first = -1, last = -1, total = -1;
};

struct ResponseHeaders {
  long status = 0;                  // from the status line; 0 when there is none
  std::string etag;                 // ETag with a W/ prefix and one pair of quotes removed, else as sent
  std::string linked_etag;          // X-Linked-Etag, cleaned the same way
  std::string commit;               // X-Repo-Commit, as sent
  std::string location;             // Location, as sent (relative or absolute)
  int64_t content_length = -1;      // -1 when absent
  int64_t linked_size = -1;         // X-Linked-Size; -1 when absent
  std::optional<ContentRange> content_range;
};

// `text`: the header lines of ONE response as received (status line first, CRLF or LF line ends).
// Throws on malformed sizes or ranges, folded header lines, and conflicting repeats of a header we use.
ResponseHeaders parse_response_headers(const std::string& text, const std::string& url);

// What a HEAD of /ORG/NAME/resolve/REV/FILE announces, checked.
struct HubFileMetadata {
  std::string commit;  // 40 lower-case hex digits, or empty when the server sent none
  std::string etag;    // a git blob sha1 (40 hex) or a sha256 (64 hex), lower case
  int64_t size = -1;   // X-Linked-Size, else Content-Length; -1 when unknown
};
// Throws unless the ETag (X-Linked-Etag first) is a git sha1 or a sha256 and the commit, when present, a
// 40-hex sha: the ETag names the blob file and the commit the snapshot folder, so nothing else may pass.
HubFileMetadata hub_file_metadata(const ResponseHeaders& headers, const std::string& repo, const std::string& file);

bool is_git_sha1(const std::string& s);  // 40 lower-case hex digits
bool is_sha256(const std::string& s);    // 64 lower-case hex digits

// A non-negative decimal byte count (at most 18 digits, so it fits int64_t); throws naming url and header.
int64_t parse_byte_count(const std::string& value, const std::string& header, const std::string& url);

// How much of a server's value an error message shows (printable(value, kShownChars)): a hostile value
// can be long.
constexpr std::size_t kShownChars = 100;

}  // namespace xsearch::hub
