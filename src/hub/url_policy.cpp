#include "hub/url_policy.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

#include "hub/response_headers.hpp"
#include "xsearch/error.hpp"

namespace xsearch::hub {

namespace {

std::string part(CURLU* u, CURLUPart which, unsigned flags = 0) {
  char* s = nullptr;
  if (curl_url_get(u, which, &s, flags) != CURLUE_OK || !s) return "";
  std::string out(s);
  curl_free(s);
  return out;
}

// A dotted-quad IPv4 address whose first byte is 127.
bool is_ipv4_loopback(const std::string& host) {
  int parts = 0;
  std::size_t pos = 0;
  std::string first;
  while (pos <= host.size()) {
    auto dot = host.find('.', pos);
    if (dot == std::string::npos) dot = host.size();
    const std::string p = host.substr(pos, dot - pos);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(p) > 255)
      return false;
    if (parts == 0) first = p;
    ++parts;
    pos = dot + 1;
  }
  return parts == 4 && first == "127";
}

}  // namespace

UrlParts parse_url(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    throw Error("'" + printable(url, kShownChars) + "': not a URL");
  UrlParts p{part(u.get(), CURLUPART_SCHEME), part(u.get(), CURLUPART_HOST), part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT)};
  std::transform(p.scheme.begin(), p.scheme.end(), p.scheme.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::transform(p.host.begin(), p.host.end(), p.host.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return p;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "[::1]" || host == "::1" || is_ipv4_loopback(host);
}

bool same_origin(const std::string& a, const std::string& b) {
  try {
    const UrlParts x = parse_url(a), y = parse_url(b);
    return x.scheme == y.scheme && x.host == y.host && x.port == y.port;
  } catch (const Error&) {
    return false;
  }
}

void check_endpoint(const std::string& endpoint) {
  const UrlParts p = parse_url(endpoint);
  if (p.scheme != "https" && p.scheme != "http")
    throw Error("HF_ENDPOINT '" + printable(endpoint, kShownChars) + "': only http and https endpoints are supported");
}

void check_redirect(const std::string& endpoint, const std::string& from, const std::string& target) {
  const UrlParts e = parse_url(endpoint);
  UrlParts t;
  try {
    t = parse_url(target);
  } catch (const Error&) {
    t = {};  // refused below
  }
  if (t.scheme == "https") return;
  if (t.scheme == "http" && e.scheme == "http" && is_loopback_host(e.host) && is_loopback_host(t.host)) return;
  throw Error(from + ": refusing to follow a redirect to '" + printable(target, kShownChars) +
              "' (redirects must go to https; plain http only from a loopback HF_ENDPOINT to a loopback host)");
}

}  // namespace xsearch::hub
