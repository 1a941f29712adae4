// Model downloads against a real HTTP server on loopback (tests/hub_server.py) that serves a hub-like
// tree: the cache layout, resuming an interrupted download, rejecting a corrupted one, offline mode, and
// the first ingest that fetches the default model.
#include <signal.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "xsearch/hub.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
using xsearch::test::quote;
using xsearch::test::Result;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

// Starts the server over the tiny full model; stops it at scope exit. Sets HF_ENDPOINT and HF_HOME.
class HubServer {
 public:
  HubServer(const test::TempDir& tmp, const std::string& extra = "") {
    const auto port_file = tmp / "port";
    const std::string cmd = "python3 " + quote(XSEARCH_SOURCE_DIR "/tests/hub_server.py") + " " +
                            quote((fixtures_dir() / "xclip-tiny-full").string()) + " " + quote(port_file.string()) + " " + extra +
                            " >/dev/null 2>&1 & echo $!";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    REQUIRE(fscanf(p, "%ld", &pid_) == 1);
    pclose(p);
    for (int i = 0; i < 300 && !fs::exists(port_file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(fs::exists(port_file));
    ::setenv("HF_ENDPOINT", ("http://127.0.0.1:" + test::read_file(port_file)).c_str(), 1);
    ::setenv("HF_HOME", (tmp / "hf").c_str(), 1);
    ::unsetenv("HF_HUB_CACHE");
    ::unsetenv("HF_HUB_OFFLINE");
  }
  ~HubServer() {
    ::kill(static_cast<pid_t>(pid_), SIGTERM);
    ::unsetenv("HF_ENDPOINT");
    ::unsetenv("HF_HOME");
  }

 private:
  long pid_ = 0;
};

bool same_file(const fs::path& a, const fs::path& b) { return test::read_file(a) == test::read_file(b); }

}  // namespace

TEST_CASE("model pull downloads into the hub cache layout, and the model is then usable by id", "[cli][hub]") {
  test::TempDir tmp;
  HubServer server(tmp);
  const Result r = xsearch_run("model pull test/xclip-tiny");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const fs::path repo = tmp / "hf" / "hub" / "models--test--xclip-tiny";
  CHECK(test::read_file(repo / "refs" / "main") == "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
  const fs::path snap = repo / "snapshots" / "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
  CHECK(r.out == snap.string() + "\n");
  for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"}) {
    INFO(f);
    CHECK(fs::is_symlink(snap / f));
    CHECK(same_file(snap / f, fixtures_dir() / "xclip-tiny-full" / f));
  }
  CHECK(fs::exists(repo / "blobs" / file_sha256(fixtures_dir() / "xclip-tiny-full" / "model.safetensors")));
  // Again: everything is up to date, nothing downloaded.
  const Result again = xsearch_run("model pull test/xclip-tiny");
  CHECK(again.status == 0);
  CHECK_THAT(again.err, Catch::Contains("model.safetensors: up to date"));
  const auto list = nlohmann::json::parse(xsearch_run("model list --json").out);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["id"] == "test/xclip-tiny");
  CHECK(list[0]["complete"] == true);
  // The id works wherever a model is taken.
  const Result c = xsearch_run("classify " + quote((fixtures_dir() / "video" / "visible-640x360-h264.mp4").string()) +
                               " --labels 'a,b' --model test/xclip-tiny --json");
  CHECK(c.status == 0);
  // Offline: served from the cache without the network; a model not in the cache is refused.
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  CHECK(xsearch_run("model pull test/xclip-tiny").status == 0);
  const Result missing = xsearch_run("model pull test/other");
  CHECK(missing.status == 2);
  CHECK_THAT(missing.err, Catch::Contains("HF_HUB_OFFLINE"));
  ::unsetenv("HF_HUB_OFFLINE");
  const Result nothing = xsearch_run("model pull test/does-not-exist-here --quiet");
  CHECK(nothing.status == 0);  // the test server serves the same files for every id
}

TEST_CASE("an interrupted download resumes where it stopped", "[cli][hub]") {
  test::TempDir tmp;
  HubServer server(tmp, "--cut-after 4000000");
  const Result first = xsearch_run("model pull test/xclip-tiny");
  CHECK(first.status == 2);
  CHECK_THAT(first.err, Catch::Contains("interrupted") && Catch::Contains("again to resume"));
  const fs::path blobs = tmp / "hf" / "hub" / "models--test--xclip-tiny" / "blobs";
  const std::string sha = file_sha256(fixtures_dir() / "xclip-tiny-full" / "model.safetensors");
  REQUIRE(fs::exists(blobs / (sha + ".incomplete")));
  CHECK(fs::file_size(blobs / (sha + ".incomplete")) == 4000000u);
  const Result second = xsearch_run("model pull test/xclip-tiny");
  INFO(second.err);
  REQUIRE(second.status == 0);
  CHECK(file_sha256(blobs / sha) == sha);
  CHECK_FALSE(fs::exists(blobs / (sha + ".incomplete")));
}

TEST_CASE("a corrupted download is rejected and not kept", "[cli][hub]") {
  test::TempDir tmp;
  HubServer server(tmp, "--corrupt model.safetensors");
  const Result r = xsearch_run("model pull test/xclip-tiny");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("model.safetensors: corrupted download"));
  const fs::path blobs = tmp / "hf" / "hub" / "models--test--xclip-tiny" / "blobs";
  for (const auto& e : fs::directory_iterator(blobs)) CHECK(fs::file_size(e.path()) < 1000000u);  // only small files
}

TEST_CASE("a corrupted small file is rejected by its git sha1", "[cli][hub]") {
  test::TempDir tmp;
  HubServer server(tmp, "--corrupt vocab.json");
  const Result r = xsearch_run("model pull test/xclip-tiny");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("vocab.json: corrupted download (sha1"));
}

TEST_CASE("the first ingest without a model fetches the default one with --yes", "[cli][hub][index]") {
  test::TempDir tmp;
  HubServer server(tmp);
  fs::create_directories(tmp / "videos");
  fs::copy_file(fixtures_dir() / "video" / "visible-640x360-h264.mp4", tmp / "videos" / "a.mp4");
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  ::unsetenv("XSEARCH_MODEL");
  const Result refused = xsearch_run("ingest " + quote((tmp / "videos").string()) + db);
  CHECK(refused.status == 2);
  CHECK_THAT(refused.err, Catch::Contains("--yes"));
  const Result r = xsearch_run("ingest " + quote((tmp / "videos").string()) + db + " --yes --json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["model"] == kDefaultModelId);
  CHECK(fs::exists(tmp / "hf" / "hub" / "models--microsoft--xclip-base-patch32" / "refs" / "main"));
  const Result q = xsearch_run("query 'a test pattern' --json" + db);
  CHECK(q.status == 0);
  CHECK(nlohmann::json::parse(q.out)["model"] == kDefaultModelId);
}
