// A hostile hub on loopback (issue 25, rows 5 and 13): a download is cut as soon as it passes the size
// the HEAD announced, and a redirect to file:// is refused with its reason, not as a size mismatch.
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "loopback_hub.hpp"
#include "xsearch/hub.hpp"

using namespace xsearch;
using xsearch::test::quote;
using xsearch::test::Result;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

const fs::path kBlobs = fs::path("hf") / "hub" / "models--test--xclip-tiny" / "blobs";

// The model.safetensors blob, or its partial download, if either is in the cache.
std::vector<std::string> weights_blobs(const test::TempDir& tmp) {
  const std::string sha = file_sha256(test::fixtures_dir() / "xclip-tiny-full" / "model.safetensors");
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp / kBlobs, ec))
    if (e.path().filename().string().rfind(sha, 0) == 0) found.push_back(e.path().filename().string());
  return found;
}

}  // namespace

TEST_CASE("a hub download stops as soon as it passes the announced size, and nothing is kept", "[cli][hub]") {
  test::TempDir tmp;
  // HEAD: 100 bytes. GET: a body without Content-Length that goes on (256 MB at most, so that the old
  // client, which read it all and refused it only at the end, still finished).
  test::LoopbackHub server(tmp, "--linked-size 100 --endless");
  const Result r = xsearch_run("model pull test/xclip-tiny");
  INFO(r.err);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("model.safetensors") && Catch::Contains("sent more than the 100 bytes it announced"));
  // Neither the blob nor a partial download stays (a resume would start from bytes that were wrong).
  CHECK(weights_blobs(tmp).empty());
}

TEST_CASE("a redirect to file:// announced with a size of 0 is refused for what it is", "[cli][hub]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp, "--redirect-to file:///etc --linked-size 0");
  const Result r = xsearch_run("model pull test/xclip-tiny");
  INFO(r.err);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("refusing to follow a redirect to 'file:///etc/lfs/"));
  CHECK_THAT(r.err, !Catch::Contains("downloaded -1 bytes"));
}
