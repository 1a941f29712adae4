#include "hub/response_headers.hpp"

#include <algorithm>

#include "xsearch/error.hpp"

namespace xsearch::hub {

namespace {

bool is_lower_hex(const std::string& s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// ETags come quoted, sometimes weak: W/"abc" -> abc. Only one enclosing pair of quotes is removed, so a
// value with quotes inside stays invalid instead of being glued together.
std::string clean_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

// "bytes A-B/T", "bytes */T" or "bytes A-B/*".
ContentRange parse_content_range(const std::string& value, const std::string& url) {
  const std::string header = "Content-Range";
  auto bad = [&] { return Error(url + ": bad Content-Range header '" + printable(value, kShownChars) + "'"); };
  if (value.rfind("bytes ", 0) != 0) throw bad();
  const std::string spec = value.substr(6);
  const auto slash = spec.find('/');
  if (slash == std::string::npos) throw bad();
  const std::string range = spec.substr(0, slash), total = spec.substr(slash + 1);
  ContentRange r;
  if (total != "*") r.total = parse_byte_count(total, header, url);
  if (range == "*") {
    if (r.total < 0) throw bad();
    return r;
  }
  const auto dash = range.find('-');
  if (dash == std::string::npos) throw bad();
  r.first = parse_byte_count(range.substr(0, dash), header, url);
  r.last = parse_byte_count(range.substr(dash + 1), header, url);
  if (r.first > r.last || (r.total >= 0 && r.last >= r.total)) throw bad();
  return r;
}

// Stores `value` in `slot`; a second, different value of the same header is refused (which one would be
// the truth?).
void set_once(std::string& slot, bool& seen, const std::string& value, const std::string& header, const std::string& url) {
  if (seen && slot != value)
    throw Error(url + ": conflicting " + header + " headers ('" + printable(slot, kShownChars) + "' and '" + printable(value, kShownChars) + "')");
  slot = value;
  seen = true;
}

}  // namespace

bool is_git_sha1(const std::string& s) { return is_lower_hex(s, 40); }
bool is_sha256(const std::string& s) { return is_lower_hex(s, 64); }

int64_t parse_byte_count(const std::string& value, const std::string& header, const std::string& url) {
  // 18 digits stay below 2^63 (9.2e18), so the sum below cannot overflow.
  const bool digits = !value.empty() && value.size() <= 18 &&
                      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) throw Error(url + ": bad " + header + " header '" + printable(value, kShownChars) + "' (not a byte count)");
  int64_t n = 0;
  for (char c : value) n = n * 10 + (c - '0');
  return n;
}

ResponseHeaders parse_response_headers(const std::string& text, const std::string& url) {
  ResponseHeaders h;
  bool seen_etag = false, seen_linked = false, seen_commit = false, seen_location = false;
  std::string length, linked_size, range;
  bool seen_length = false, seen_linked_size = false, seen_range = false;
  std::size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (first && line.rfind("HTTP/", 0) == 0) {
      first = false;
      const auto sp = line.find(' ');
      const std::string code = sp == std::string::npos ? "" : line.substr(sp + 1, 3);
      if (code.size() != 3 || !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw Error(url + ": bad HTTP status line '" + printable(line, kShownChars) + "'");
      h.status = std::stol(code);  // three digits: cannot throw
      continue;
    }
    first = false;
    if (line.front() == ' ' || line.front() == '\t')
      throw Error(url + ": folded HTTP header line '" + printable(line, kShownChars) + "' (not supported)");
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // not a header; curl has accepted the response already
    const std::string key = lower(trim(line.substr(0, colon)));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "etag") set_once(h.etag, seen_etag, clean_etag(value), "ETag", url);
    else if (key == "x-linked-etag") set_once(h.linked_etag, seen_linked, clean_etag(value), "X-Linked-Etag", url);
    else if (key == "x-repo-commit") set_once(h.commit, seen_commit, value, "X-Repo-Commit", url);
    else if (key == "location") set_once(h.location, seen_location, value, "Location", url);
    else if (key == "content-length") set_once(length, seen_length, value, "Content-Length", url);
    else if (key == "x-linked-size") set_once(linked_size, seen_linked_size, value, "X-Linked-Size", url);
    else if (key == "content-range") set_once(range, seen_range, value, "Content-Range", url);
  }
  if (seen_length) h.content_length = parse_byte_count(length, "Content-Length", url);
  if (seen_linked_size) h.linked_size = parse_byte_count(linked_size, "X-Linked-Size", url);
  if (seen_range) h.content_range = parse_content_range(range, url);
  return h;
}

HubFileMetadata hub_file_metadata(const ResponseHeaders& h, const std::string& repo, const std::string& file) {
  const std::string where = repo + ": " + file + ": ";
  HubFileMetadata m;
  m.etag = h.linked_etag.empty() ? h.etag : h.linked_etag;
  const char* header = h.linked_etag.empty() ? "ETag" : "X-Linked-Etag";
  if (m.etag.empty()) throw Error(where + "the server gave no ETag (not a hub endpoint?)");
  if (!is_git_sha1(m.etag) && !is_sha256(m.etag))
    throw Error(where + "the server's " + header + " '" + printable(m.etag, kShownChars) +
                "' is neither a git sha1 (40 hex digits) nor a sha256 (64 hex digits); refusing the download");
  if (!h.commit.empty() && !is_git_sha1(h.commit))
    throw Error(where + "the server's X-Repo-Commit '" + printable(h.commit, kShownChars) + "' is not a commit sha (40 hex digits)");
  m.commit = h.commit;
  m.size = h.linked_size >= 0 ? h.linked_size : h.content_length;
  return m;
}

}  // namespace xsearch::hub
