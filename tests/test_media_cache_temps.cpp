// Temporary files of a killed serve (issue 25): a thumbnail or rendition being written when serve got
// SIGKILL leaves "<file>.<host>.<pid>.<random>.tmp" in the media cache. serve removes those at start,
// but only when they provably belong to a dead process of this host: another host's (a library on a
// shared folder), a live process's, or a name of another shape stays.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "io/atomic_file.hpp"
#include "raw_http.hpp"
#include "xsearch/media_cache.hpp"

using namespace xsearch;
using test::fs::path;

namespace {

// The pid of a child that has exited and been reaped: no process has it (until the kernel reuses it,
// which takes a full turn of the pid space).
pid_t dead_pid() {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

// A child that waits until it is killed.
pid_t live_pid() {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  return pid;
}

std::string temp_name(const std::string& target, const std::string& host, pid_t pid) {
  return target + "." + host + "." + std::to_string(pid) + ".0123456789abcdef.tmp";
}

}  // namespace

TEST_CASE("serve removes the media cache's temporary files of dead processes of this host only", "[serve]") {
  test::TempDir tmp;
  const path db = test::small_library(tmp, {"a.mp4"});
  const path dir = video_cache_dir(db, 1);
  test::fs::create_directories(dir);
  const pid_t dead = dead_pid(), live = live_pid();
  const std::string host = temp_host_name();
  const path dead_thumb = dir / temp_name("7.jpg", host, dead);
  const path dead_rendition = dir / temp_name("7-9.mp4", host, dead);
  const std::vector<path> kept = {
      dir / temp_name("7.jpg", host, live),             // a running writer's
      dir / temp_name("7.jpg", host + "x", dead),       // another host's: its pid means nothing here
      dir / temp_name("notes.txt", host, dead),         // not a cache file's
      dir / ("7.jpg.tmp." + std::to_string(dead) + ".0"),  // the old form carries no host: not provably ours
      dir / "7.jpg",                                    // a finished thumbnail
  };
  for (const path& p : kept) test::write_file(p, "x");
  test::write_file(dead_thumb, "x");
  test::write_file(dead_rendition, "x");
  {
    test::Server server(db, tmp / "serve.out");
    CHECK(test::get_bounded(server.port, "/api/info").status == 200);  // serve is up: its start has run
  }
  ::kill(live, SIGKILL);
  ::waitpid(live, nullptr, 0);
  CHECK_FALSE(test::fs::exists(dead_thumb));
  CHECK_FALSE(test::fs::exists(dead_rendition));
  for (const path& p : kept) {
    INFO(p);
    CHECK(test::fs::exists(p));
  }
  // The live writer has exited meanwhile: now its file goes too, and a second pass finds nothing else.
  CHECK(remove_dead_temp_files(db) == 1);
  CHECK(remove_dead_temp_files(db) == 0);
}
