// Issue 26, item 8: the hub token goes to the endpoint's origin only, and an origin includes the port. A
// redirect to the same host on another port (another server there) must not carry Authorization.
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "hub/url_policy.hpp"
#include "loopback_hub.hpp"
#include "xsearch/hub.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

TEST_CASE("same origin means same scheme, host and port", "[hub]") {
  CHECK(hub::same_origin("http://127.0.0.1:8000", "http://127.0.0.1:8000/lfs/x"));
  CHECK_FALSE(hub::same_origin("http://127.0.0.1:8000", "http://127.0.0.1:8001/lfs/x"));
  CHECK_FALSE(hub::same_origin("https://hf.co", "https://hf.co:8443/x"));
  CHECK(hub::same_origin("https://hf.co", "https://hf.co:443/x"));  // the scheme's default port, spelled out
}

TEST_CASE("the token does not follow a redirect to the same host on another port", "[cli][hub]") {
  test::TempDir tmp, other;
  // The redirect's target first: a second server on 127.0.0.1 that answers 403 to a request with a token.
  test::LoopbackHub target(other, "--lfs-refuses-token");
  const std::string target_port = test::read_file(other / "port");
  // The endpoint (started last, so HF_ENDPOINT and HF_HOME are its own) sends LFS files to that port.
  test::LoopbackHub endpoint(tmp, "--redirect-to " + test::quote("http://127.0.0.1:" + target_port));
  REQUIRE(test::read_file(tmp / "port") != target_port);
  ::setenv("HF_TOKEN", "hf_secret", 1);
  const test::Result r = test::xsearch_run("model pull test/xclip-tiny");
  ::unsetenv("HF_TOKEN");
  INFO(r.err);
  CHECK(r.status == 0);
  const fs::path blobs = tmp / "hf" / "hub" / "models--test--xclip-tiny" / "blobs";
  CHECK(fs::exists(blobs / xsearch::file_sha256(test::fixtures_dir() / "xclip-tiny-full" / "model.safetensors")));
}
