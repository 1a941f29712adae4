// io/atomic_file.hpp: the one way xsearch replaces a file (index files, safetensors, hub cache, media
// cache, exports).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "io/atomic_file.hpp"
#include "xsearch/error.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

namespace {

// Every file name in `dir` other than `keep`.
std::vector<std::string> others_in(const fs::path& dir, const std::string& keep) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename() != keep) names.push_back(e.path().filename().string());
  return names;
}

// A pid that has surely ended: a child we started and reaped.
pid_t ended_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

}  // namespace

TEST_CASE("atomic_write gives the target exactly the bytes, over a longer old file too", "[io]") {
  test::TempDir tmp;
  const fs::path target = tmp / "t.bin";
  std::string bytes("a\0b\n\xff", 5);
  for (int i = 0; i < 100000; ++i) bytes += static_cast<char>(i * 31);
  atomic_write(target, bytes);
  CHECK(test::read_file(target) == bytes);
  atomic_write(target, std::string("short"));
  CHECK(test::read_file(target) == "short");
  atomic_write(target, std::string());
  CHECK(fs::file_size(target) == 0);
  CHECK(others_in(tmp.path(), "t.bin").empty());
}

TEST_CASE("a failed atomic write leaves the old target intact and no temporary file", "[io]") {
  test::TempDir tmp;
  const fs::path target = tmp / "t.txt";
  test::write_file(target, "the old bytes");
  SECTION("the writer throws midway") {
    CHECK_THROWS_WITH(atomic_write(target,
                                   [](AtomicFile& f) {
                                     f.write("new", 3);
                                     throw std::runtime_error("the producer failed");
                                   }),
                      "the producer failed");
  }
  SECTION("a write fails midway (the descriptor closed under it)") {
    // A failure that permission bits cannot fake away when the tests run as root.
    CHECK_THROWS_WITH(atomic_write(target,
                                   [](AtomicFile& f) {
                                     f.write("new", 3);
                                     ::close(f.fd());
                                     f.write("more", 4);
                                   }),
                      Catch::Contains("t.txt: cannot write") && Catch::Contains("Bad file descriptor"));
  }
  SECTION("discarded before commit") {
    AtomicFile f(target);
    f.write("new", 3);
    CHECK(fs::exists(f.temp_path()));
    f.discard();
    CHECK_FALSE(fs::exists(f.temp_path()));
    CHECK_THROWS_WITH(f.commit(), Catch::Contains("t.txt: cannot write"));
  }
  CHECK(test::read_file(target) == "the old bytes");
  CHECK(others_in(tmp.path(), "t.txt").empty());
}

TEST_CASE("an atomic write that cannot replace its target names it and the cause, and leaves nothing", "[io]") {
  test::TempDir tmp;
  // A folder (not empty) where the file goes: rename() onto it fails whoever runs the test.
  const fs::path target = tmp / "t.txt";
  fs::create_directories(target);
  test::write_file(target / "keep.txt", "someone's file");
  CHECK_THROWS_WITH(atomic_write(target, std::string("new")),
                    Catch::Contains(target.string() + ": cannot replace (") && Catch::Contains("directory"));
  CHECK(test::read_file(target / "keep.txt") == "someone's file");
  CHECK(others_in(tmp.path(), "t.txt").empty());
  // A folder that does not exist: the error names the target, not a temporary name.
  CHECK_THROWS_WITH(atomic_write(tmp / "no" / "such.txt", std::string("x")),
                    Catch::StartsWith((tmp / "no" / "such.txt").string() + ": cannot create (No such file or directory)"));
}

TEST_CASE("temporary names carry the host name, the pid and a random part, and end in .tmp", "[io]") {
  test::TempDir tmp;
  const fs::path target = tmp / "lib.index";
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  std::string expected_host;
  for (const char* c = host; *c && expected_host.size() < 32; ++c)
    expected_host += (std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '_') ? *c : '_';
  CHECK(temp_host_name() == (expected_host.empty() ? "host" : expected_host));
  AtomicFile a(target), b(target);
  const std::string name = a.temp_path().filename().string();
  CHECK(a.temp_path().parent_path() == tmp.path());
  CHECK(name.rfind("lib.index." + temp_host_name() + "." + std::to_string(::getpid()) + ".", 0) == 0);
  CHECK(name.size() == std::string("lib.index.").size() + temp_host_name().size() + 1 + std::to_string(::getpid()).size() + 1 + 16 + 4);
  CHECK(name.compare(name.size() - 4, 4, ".tmp") == 0);
  // Two writers of one target in one process: the random part differs.
  CHECK(a.temp_path() != b.temp_path());
  // A long target name is cut so that the temporary name stays within NAME_MAX.
  AtomicFile long_name(tmp / std::string(250, 'x'));
  CHECK(long_name.temp_path().filename().string().size() <= 255);
  long_name.write("x", 1);
  long_name.commit();
  CHECK(test::read_file(tmp / std::string(250, 'x')) == "x");
}

TEST_CASE("two writers of one file at once never touch each other's temporary file", "[io]") {
  test::TempDir tmp;
  const fs::path target = tmp / "shared.txt";
  SECTION("interleaved in one thread") {
    AtomicFile a(target), b(target);
    a.write("aaaa", 4);
    b.write("bb", 2);
    a.write("AAAA", 4);
    b.write("BB", 2);
    a.commit();
    CHECK(test::read_file(target) == "aaaaAAAA");
    b.commit();
    CHECK(test::read_file(target) == "bbBB");
  }
  SECTION("threads, with a reader that must only ever see whole files") {
    const std::string one(64 * 1024, '1'), two(96 * 1024, '2');
    atomic_write(target, one);
    std::atomic<bool> stop{false}, torn{false};
    std::thread reader([&] {
      while (!stop) {
        const std::string seen = test::read_file(target);
        if (seen != one && seen != two) torn = true;
      }
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
      writers.emplace_back([&, w] {
        for (int i = 0; i < 25; ++i) atomic_write(target, w % 2 ? one : two);
      });
    for (auto& t : writers) t.join();
    stop = true;
    reader.join();
    CHECK_FALSE(torn);
  }
  CHECK(others_in(tmp.path(), "shared.txt").empty());
}

TEST_CASE("stale temporary files of this host's ended processes are removed, and nothing else", "[io]") {
  test::TempDir tmp;
  const fs::path target = tmp / "lib.index";
  const std::string host = temp_host_name(), random = ".0123456789abcdef.tmp";
  const fs::path stale = tmp / ("lib.index." + host + "." + std::to_string(ended_pid()) + random);
  const fs::path alive = tmp / ("lib.index." + host + "." + std::to_string(::getppid()) + random);  // a running process
  const fs::path elsewhere = tmp / ("lib.index.another-host." + std::to_string(ended_pid()) + random);
  const fs::path other = tmp / ("lib.index." + host + ".notes.tmp");
  const fs::path of_other_file = tmp / ("lib.db." + host + "." + std::to_string(ended_pid()) + random);
  for (const auto& p : {stale, alive, elsewhere, other, of_other_file}) test::write_file(p, "x");
  CHECK(remove_stale_temp_files(target) == 1);
  CHECK_FALSE(fs::exists(stale));
  for (const auto& p : {alive, elsewhere, other, of_other_file}) CHECK(fs::exists(p));
}
