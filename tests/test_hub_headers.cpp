// The hub client's checks on what a server says, without a server: response headers, the ETag and
// commit rules, redirect policy, and the names that become cache paths.
#include "helpers.hpp"
#include "hub/cache_paths.hpp"
#include "hub/response_headers.hpp"
#include "hub/url_policy.hpp"
#include "xsearch/error.hpp"

using namespace xsearch::hub;
namespace fs = std::filesystem;

namespace {
const std::string kSha1 = "0123456789abcdef0123456789abcdef01234567";
const std::string kSha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kUrl = "http://127.0.0.1:1/o/n/resolve/main/f";
}  // namespace

TEST_CASE("response headers: the hub's LFS answer is read, quotes and W/ removed", "[hub]") {
  const ResponseHeaders h = parse_response_headers("HTTP/1.1 302 Found\r\nx-linked-etag: \"" + kSha256 + "\"\r\nETag: W/\"" + kSha1 +
                                                       "\"\r\nX-Repo-Commit: " + kSha1 + "\r\nX-Linked-Size: 123\r\nContent-Length: 0\r\n"
                                                       "Location: /lfs/x\r\n\r\n",
                                                   kUrl);
  CHECK(h.status == 302);
  CHECK(h.linked_etag == kSha256);
  CHECK(h.etag == kSha1);
  CHECK(h.location == "/lfs/x");
  const HubFileMetadata m = hub_file_metadata(h, "o/n", "f");
  CHECK(m.etag == kSha256);  // X-Linked-Etag first
  CHECK(m.commit == kSha1);
  CHECK(m.size == 123);
}

TEST_CASE("response headers: sizes and ranges must be well-formed numbers", "[hub]") {
  const auto range = parse_response_headers("HTTP/1.1 206 Partial\r\nContent-Range: bytes 5-9/10\r\n", kUrl).content_range;
  REQUIRE(range);
  CHECK((range->first == 5 && range->last == 9 && range->total == 10));
  CHECK(parse_response_headers("HTTP/1.1 416 x\r\nContent-Range: bytes */10\r\n", kUrl).content_range->total == 10);
  for (const std::string bad : {"-1", "1e3", "99999999999999999999", "", "7 7", "0x10", "12abc"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_response_headers("HTTP/1.1 200 OK\r\nContent-Length: " + bad + "\r\n", kUrl),
                      Catch::StartsWith(kUrl + ": bad Content-Length header"));
  }
  for (const std::string bad : {"bytes 9-5/10", "bytes 5-10/10", "bytes 5-9", "items 0-1/2", "bytes */*", "bytes a-b/c"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_response_headers("HTTP/1.1 206 x\r\nContent-Range: " + bad + "\r\n", kUrl),
                      Catch::Contains("Content-Range header"));
  }
  CHECK_THROWS_WITH(parse_response_headers("HTTP/1.1 200 OK\r\nETag: \"a\"\r\nETag: \"b\"\r\n", kUrl), Catch::Contains("conflicting ETag"));
  CHECK_THROWS_WITH(parse_response_headers("HTTP/1.1 200 OK\r\nETag: \"a\r\n  b\"\r\n", kUrl), Catch::Contains("folded"));
}

TEST_CASE("an ETag must be a git sha1 or a sha256, a commit a 40-hex sha", "[hub]") {
  ResponseHeaders h;
  for (const std::string bad : std::vector<std::string>{"../../../../pwned-config.json", "", kSha1.substr(1), kSha256 + "0", "0123456789ABCDEF0123456789ABCDEF01234567",
                                "\"" + kSha1 + "\"", std::string("abc\x01\n"),
                                // digest-sized, lower-case, yet no hex: a path of 40 characters, letters past 'f'
                                "../../../../../../../../../tmp/pwnedfile", std::string(40, 'z'), std::string(64, 'g')}) {
    INFO(bad);
    h.etag = bad;
    CHECK_THROWS_WITH(hub_file_metadata(h, "o/n", "f.json"), Catch::StartsWith("o/n: f.json: the server"));
  }
  h.etag = kSha1;
  h.commit = "../x";
  CHECK_THROWS_WITH(hub_file_metadata(h, "o/n", "f.json"), Catch::Contains("X-Repo-Commit '../x' is not a commit sha"));
  h.commit = "";
  CHECK(hub_file_metadata(h, "o/n", "f.json").commit.empty());  // the caller decides
  CHECK(xsearch::printable(std::string("a\x01\n"), kShownChars) == "a\\x01\\x0a");
  CHECK(xsearch::printable(std::string(200, 'a'), kShownChars) == std::string(kShownChars, 'a') + "...");
}

TEST_CASE("redirects: https anywhere, plain http only from a loopback endpoint to a loopback host", "[hub]") {
  const std::string local = "http://127.0.0.1:8000", hub = "https://huggingface.co";
  CHECK_NOTHROW(check_redirect(hub, hub + "/a", "https://cdn-lfs.hf.co/x"));
  CHECK_NOTHROW(check_redirect(local, local + "/a", "http://127.0.0.1:8000/lfs/x"));
  CHECK_NOTHROW(check_redirect(local, local + "/a", "http://localhost:9/x"));
  CHECK_NOTHROW(check_redirect("http://[::1]:8/", "http://[::1]:8/a", "http://[::1]:8/b"));
  for (const auto& [endpoint, target] : std::vector<std::pair<std::string, std::string>>{
           {hub, "http://127.0.0.1/x"},              // plain http from an https endpoint
           {local, "http://192.168.1.5/x"},          // plain http to another host
           {local, "http://127.0.0.1.evil.com/x"},   // not loopback, whatever it starts with
           {local, "file:///etc/passwd"},
           {local, "ftp://127.0.0.1/x"},
           {"http://mirror.example/", "http://mirror.example/x"},  // plain http needs a loopback endpoint
           {local, "not a url"}}) {
    INFO(endpoint << " -> " << target);
    CHECK_THROWS_WITH(check_redirect(endpoint, endpoint + "/a", target), Catch::Contains("refusing to follow a redirect"));
  }
  CHECK_THROWS_WITH(check_endpoint("file:///tmp/hub"), Catch::Contains("only http and https"));
}

TEST_CASE("model ids and revisions become safe cache paths, and nothing resolves outside the cache", "[hub]") {
  for (const std::string ok : {"microsoft/xclip-base-patch32", "a/b", "Org_1/name.v2"}) CHECK_NOTHROW(check_model_id(ok));
  for (const std::string bad : {"a", "a/b/c", "../b", "a/..", "a--b/c", "/b", "a/", "a/b c", "a/.b"}) {
    INFO(bad);
    CHECK_THROWS_WITH(check_model_id(bad), Catch::Contains("not a hub model id"));
  }
  for (const std::string ok : {"main", "v1.0", "refs/pr/1", "release/2024-01", "a+b"}) CHECK_NOTHROW(check_revision(ok));
  for (const std::string bad : std::vector<std::string>{"", "..", "../x", "a/../b", "/a", "a/", "a//b", ".git", "a b", "a\\b", "a:b", std::string(201, 'a')}) {
    INFO(bad);
    CHECK_THROWS_WITH(check_revision(bad), Catch::Contains("not a safe revision name"));
  }
  xsearch::test::TempDir tmp;
  const fs::path cache = tmp / "cache";
  fs::create_directories(cache / "models--a--b" / "blobs");
  CHECK_NOTHROW(check_inside_cache(cache, cache / "models--a--b" / "blobs" / kSha1));
  CHECK_NOTHROW(check_inside_cache(cache, cache / "models--a--b" / "refs" / "refs" / "pr" / "1"));  // not there yet
  CHECK_THROWS_WITH(check_inside_cache(cache, cache / "models--a--b" / "blobs" / ".." / ".." / ".." / "x"), Catch::Contains("outside the hub cache"));
  CHECK_THROWS(check_inside_cache(cache, cache));
  CHECK_THROWS(check_inside_cache(cache, tmp / "cache2" / "x"));
  // A symlinked folder inside the cache that leads out, and a symlinked file that does.
  fs::create_directories(tmp / "elsewhere");
  fs::create_directory_symlink(tmp / "elsewhere", cache / "models--a--b" / "snapshots");
  CHECK_THROWS_WITH(check_inside_cache(cache, cache / "models--a--b" / "snapshots" / kSha1 / "config.json"), Catch::Contains("outside"));
  fs::create_symlink(tmp / "elsewhere" / "f", cache / "models--a--b" / "blobs" / (kSha1 + ".incomplete"));
  CHECK_THROWS(check_inside_cache(cache, cache / "models--a--b" / "blobs" / (kSha1 + ".incomplete")));
  // The cache itself may be a symlink (HF_HOME on another disk).
  fs::create_directory_symlink(cache, tmp / "linked-cache");
  CHECK_NOTHROW(check_inside_cache(tmp / "linked-cache", tmp / "linked-cache" / "models--a--b" / "blobs" / kSha1));
}
