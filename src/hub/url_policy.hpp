// Which URLs a pull may talk to. The endpoint ($HF_ENDPOINT) must be http or https; a redirect may go
// to https anywhere, and to plain http only from a loopback http endpoint to a loopback host (the test
// server), so that a mirror cannot send the client to a plain-http host or to another scheme (file://).
#pragma once

#include <string>

namespace xsearch::hub {

struct UrlParts {
  std::string scheme;  // lower case
  std::string host;    // as libcurl gives it: IPv6 in brackets
  std::string port;    // the scheme's default when the URL has none
};
// Throws xsearch::Error naming the URL when libcurl cannot parse it.
UrlParts parse_url(const std::string& url);

// localhost, 127.0.0.0/8 and ::1.
bool is_loopback_host(const std::string& host);

// Throws unless `endpoint` is an http or https URL.
void check_endpoint(const std::string& endpoint);

// True when both URLs have the same scheme, host and port: only then may the token go along.
bool same_origin(const std::string& a, const std::string& b);

// Throws, naming both URLs, unless a pull against `endpoint` may follow a redirect from `from` to `target`.
void check_redirect(const std::string& endpoint, const std::string& from, const std::string& target);

}  // namespace xsearch::hub
