// Model downloads against a real HTTP server on loopback (tests/hub_server.py) that serves a hub-like
// tree: the cache layout, resuming an interrupted download, rejecting a corrupted one, offline mode, and
// the first ingest that fetches the default model.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "loopback_hub.hpp"
#include "xsearch/hub.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
using xsearch::test::quote;
using xsearch::test::Result;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

bool same_file(const fs::path& a, const fs::path& b) { return test::read_file(a) == test::read_file(b); }

// Everything under `tmp` that is not the hub cache (tmp/hf/hub) or the server's port file: a pull must
// never write there.
std::vector<std::string> outside_cache(const test::TempDir& tmp) {
  std::vector<std::string> found;
  const fs::path cache = tmp / "hf" / "hub";
  for (auto it = fs::recursive_directory_iterator(tmp.path()); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path p = it->path();
    if (p == cache) {
      it.disable_recursion_pending();
      continue;
    }
    if (p == tmp / "port" || p == tmp / "hf") continue;
    found.push_back(p.string());
  }
  return found;
}

const fs::path kRepo = fs::path("hf") / "hub" / "models--test--xclip-tiny";

}  // namespace

TEST_CASE("model pull downloads into the hub cache layout, and the model is then usable by id", "[cli][hub]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp);
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
  const fs::path log = tmp / "requests.log";
  test::LoopbackHub server(tmp, "--cut-after 4000000 --log " + test::quote(log.string()));
  const Result first = xsearch_run("model pull test/xclip-tiny");
  CHECK(first.status == 2);
  CHECK_THAT(first.err, Catch::Contains("interrupted") && Catch::Contains("again to resume"));
  const fs::path blobs = tmp / "hf" / "hub" / "models--test--xclip-tiny" / "blobs";
  const std::string sha = file_sha256(fixtures_dir() / "xclip-tiny-full" / "model.safetensors");
  REQUIRE(fs::exists(blobs / (sha + ".incomplete")));
  CHECK(fs::file_size(blobs / (sha + ".incomplete")) == 4000000u);
  fs::remove(log);
  const Result second = xsearch_run("model pull test/xclip-tiny");
  INFO(second.err);
  REQUIRE(second.status == 0);
  // The second pull asked for the rest only: its download of the blob sent a Range from the byte it had.
  const std::string requests = test::read_file(log);
  INFO(requests);
  CHECK_THAT(requests, Catch::Contains("GET /lfs/" + sha + " bytes=4000000-"));
  CHECK_THAT(requests, !Catch::Contains("GET /lfs/" + sha + " -"));
  CHECK(file_sha256(blobs / sha) == sha);
  CHECK_FALSE(fs::exists(blobs / (sha + ".incomplete")));
}

TEST_CASE("a corrupted download is rejected and not kept", "[cli][hub]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp, "--corrupt model.safetensors");
  const Result r = xsearch_run("model pull test/xclip-tiny");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("model.safetensors: corrupted download"));
  const fs::path blobs = tmp / "hf" / "hub" / "models--test--xclip-tiny" / "blobs";
  for (const auto& e : fs::directory_iterator(blobs)) CHECK(fs::file_size(e.path()) < 1000000u);  // only small files
}

TEST_CASE("a corrupted small file is rejected by its git sha1", "[cli][hub]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp, "--corrupt vocab.json");
  const Result r = xsearch_run("model pull test/xclip-tiny");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("vocab.json: corrupted download (sha1"));
}

TEST_CASE("the first ingest without a model fetches the default one with --yes", "[cli][hub][index]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp);
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

// ---- a hostile or broken server: each answer refused with a clear message, nothing outside the cache ----

TEST_CASE("an ETag with a path in it is refused and nothing is written outside the cache", "[cli][hub]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp, "--etag " + quote("config.json=\"../../../../pwned-config.json\""));
  const Result r = xsearch_run("model pull test/xclip-tiny");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("test/xclip-tiny: config.json: the server's ETag '../../../../pwned-config.json'") &&
                        Catch::Contains("neither a git sha1"));
  CHECK(outside_cache(tmp).empty());
  CHECK_FALSE(fs::exists(tmp / kRepo / "refs"));
}

TEST_CASE("an ETag that is no digest is refused, for small and LFS files", "[cli][hub]") {
  for (const std::string file : {"vocab.json", "model.safetensors"}) {
    INFO(file);
    test::TempDir tmp;
    test::LoopbackHub server(tmp, "--etag " + quote(file + "=\"abc123-not-a-digest\""));
    const Result r = xsearch_run("model pull test/xclip-tiny");
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(file + ": the server's") && Catch::Contains("'abc123-not-a-digest' is neither"));
    for (const auto& e : fs::directory_iterator(tmp / kRepo / "blobs")) {
      INFO(e.path());
      CHECK(e.path().filename().string().find("abc123") == std::string::npos);
    }
    CHECK(outside_cache(tmp).empty());
  }
}

TEST_CASE("a commit with a path in it is refused and nothing is written outside the cache", "[cli][hub]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp, "--commit ../../../../pwned-commit");
  const Result r = xsearch_run("model pull test/xclip-tiny");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("X-Repo-Commit '../../../../pwned-commit' is not a commit sha"));
  CHECK(outside_cache(tmp).empty());
  CHECK_FALSE(fs::exists(tmp / kRepo / "snapshots"));
  CHECK_FALSE(fs::exists(tmp / kRepo / "refs"));
}

TEST_CASE("a redirect to plain http of another host, or to another scheme, is not followed", "[cli][hub]") {
  // {public}: this machine's own non-loopback address, which the server also answers on, so that
  // following the redirect would succeed; file:// is another scheme.
  for (const std::string target : {"{public}", "file:///etc"}) {
    INFO(target);
    test::TempDir tmp;
    test::LoopbackHub server(tmp, "--redirect-to " + quote(target));
    const Result r = xsearch_run("model pull test/xclip-tiny");
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("refusing to follow a redirect to '") && Catch::Contains("redirects must go to https"));
    const std::string sha = file_sha256(fixtures_dir() / "xclip-tiny-full" / "model.safetensors");
    CHECK_FALSE(fs::exists(tmp / kRepo / "blobs" / sha));
    if (fs::exists(tmp / kRepo / "blobs" / (sha + ".incomplete")))
      CHECK(fs::file_size(tmp / kRepo / "blobs" / (sha + ".incomplete")) == 0u);
    CHECK(outside_cache(tmp).empty());
  }
}

TEST_CASE("a size header that is no number is a clear error naming the URL, not an internal error", "[cli][hub]") {
  for (const std::string size : {"99999999999999999999", "-5", "12abc"}) {
    INFO(size);
    test::TempDir tmp;
    test::LoopbackHub server(tmp, "--linked-size " + quote(size));
    const Result r = xsearch_run("model pull test/xclip-tiny");
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("/resolve/") && Catch::Contains("model.safetensors: bad X-Linked-Size header '" + size + "'"));
    CHECK_THAT(r.err, !Catch::Contains("internal error"));
  }
}

TEST_CASE("a blob that another process is downloading (huggingface_hub's lock) is waited for", "[cli][hub]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp);
  const std::string sha = file_sha256(fixtures_dir() / "xclip-tiny-full" / "model.safetensors");
  // Where huggingface_hub locks it: <cache>/.locks/models--ORG--NAME/<etag>.lock, flock(LOCK_EX).
  const fs::path lock = tmp / "hf" / "hub" / ".locks" / "models--test--xclip-tiny" / (sha + ".lock");
  fs::create_directories(lock.parent_path());
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  const fs::path blob = tmp / kRepo / "blobs" / sha;

  // Held for longer than --lock-timeout: refused, and the blob untouched.
  const Result refused = xsearch_run("model pull test/xclip-tiny --lock-timeout 1");
  CHECK(refused.status == 2);
  CHECK_THAT(refused.err, Catch::Contains("model.safetensors: waiting for another process that is downloading it (" + lock.string()));
  CHECK_THAT(refused.err, Catch::Contains("model.safetensors: another process is still downloading it after 1 s"));
  CHECK_FALSE(fs::exists(blob));
  CHECK_FALSE(fs::exists(blob.string() + ".incomplete"));

  // Released while the pull waits: it goes on and finishes.
  const fs::path err = tmp / "err";
  int status = -1;
  std::thread pull([&] {
    status = std::system((quote(XSEARCH_BINARY) + " model pull test/xclip-tiny >/dev/null 2>" + quote(err.string())).c_str());
  });
  bool waited = false;
  for (int i = 0; i < 600 && !waited; ++i) {  // up to 60 s for the pull to reach the lock
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    waited = test::read_file(err).find("waiting for another process") != std::string::npos;
  }
  CHECK_FALSE(fs::exists(blob));  // still waiting, nothing written
  ::flock(fd, LOCK_UN);
  ::close(fd);
  pull.join();
  CHECK(waited);
  CHECK(status == 0);
  CHECK(file_sha256(blob) == sha);
}

TEST_CASE("model pull --revision: a branch, a tag with a slash, a commit: unsafe names refused", "[cli][hub]") {
  test::TempDir tmp;
  test::LoopbackHub server(tmp);
  const fs::path repo = tmp / kRepo;
  const std::string pinned = "1487e5b2c0bcc4e3b72cf1e5e7ffc2b0c8f1b1d2";  // any commit; the server knows them all
  SECTION("a branch or tag: refs/REV holds the commit, snapshots/COMMIT the files") {
    for (const std::string rev : {"v1.0", "refs/pr/1"}) {
      INFO(rev);
      const Result r = xsearch_run("model pull test/xclip-tiny --revision " + rev);
      INFO(r.err);
      REQUIRE(r.status == 0);
      const std::string commit = test::read_file(repo / "refs" / rev);
      CHECK(commit.size() == 40u);
      CHECK(commit != "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");  // not main's
      CHECK(r.out == (repo / "snapshots" / commit).string() + "\n");
      CHECK(same_file(repo / "snapshots" / commit / "model.safetensors", fixtures_dir() / "xclip-tiny-full" / "model.safetensors"));
    }
    CHECK(fs::is_directory(repo / "refs" / "refs" / "pr"));  // the slash is a sub-folder, as huggingface_hub does
  }
  SECTION("a commit: no ref, the snapshot under that commit") {
    const Result r = xsearch_run("model pull test/xclip-tiny --revision " + pinned);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == (repo / "snapshots" / pinned).string() + "\n");
    CHECK(fs::exists(repo / "snapshots" / pinned / "config.json"));
    CHECK_FALSE(fs::exists(repo / "refs"));
  }
  SECTION("unsafe revisions and ids are refused before anything is written") {
    for (const std::string rev : {"../../../../pwned", "a/../../b", "/etc", "a//b", ".hidden", "a b", "main/"}) {
      INFO(rev);
      const Result r = xsearch_run("model pull test/xclip-tiny --revision " + quote(rev));
      CHECK(r.status == 2);
      CHECK_THAT(r.err, Catch::Contains("not a safe revision name"));
    }
    const Result id = xsearch_run("model pull test/xclip/tiny");
    CHECK(id.status == 2);
    CHECK_THAT(id.err, Catch::Contains("test/xclip/tiny: not a hub model id"));
    CHECK_FALSE(fs::exists(tmp / "hf"));
    CHECK(outside_cache(tmp).empty());
  }
}

TEST_CASE("the token goes to the endpoint, not to the host a redirect names", "[cli][hub]") {
  test::TempDir tmp;
  // localhost is loopback (so the plain-http redirect is allowed) but another origin than 127.0.0.1.
  test::LoopbackHub server(tmp, "--redirect-to 'http://localhost:{port}' --lfs-refuses-token");
  ::setenv("HF_TOKEN", "hf_secret", 1);
  const Result r = xsearch_run("model pull test/xclip-tiny");
  ::unsetenv("HF_TOKEN");
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(fs::exists(tmp / kRepo / "blobs" / file_sha256(fixtures_dir() / "xclip-tiny-full" / "model.safetensors")));
}
