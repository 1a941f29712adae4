// Helpers for end-to-end tests on a library: test videos, JSON runs of xsearch, SQL on the database, and
// running xsearch as a child process that a test can signal and wait for.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <random>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"

extern char** environ;

namespace xsearch::test {

// A random unit vector of `dim` values (Gaussian, normalised): a stand-in for a clip's embedding.
inline std::vector<float> random_unit(std::mt19937& rng, int dim) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<std::size_t>(dim));
  double n = 0;
  for (float& x : v) n += (x = normal(rng)) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
  return v;
}

inline std::string model_arg() { return " --model " + quote((fixtures_dir() / "xclip-tiny-full").string()); }

// `seconds` of an FFmpeg test source as H.264 at 160x120, `rate` frames per second.
inline void make_video(const fs::path& path, const std::string& source, double seconds, const std::string& format = "",
                       int rate = 15) {
  fs::create_directories(path.parent_path());
  ffmpeg("-f lavfi -i " + source + "=size=160x120:rate=" + std::to_string(rate) + " -t " + std::to_string(seconds) +
         " -c:v libx264 -preset ultrafast -pix_fmt yuv420p " + (format.empty() ? "" : "-f " + format + " ") + quote(path.string()));
}

// " --db 'PATH'": a library argument for xsearch_run.
inline std::string db_arg(const fs::path& db) { return " --db " + quote(db.string()); }

// `sh -c COMMAND`'s exit status (-1 when it did not exit normally).
inline int shell_status(const std::string& command) {
  const int raw = std::system(command.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// Files left behind anywhere under `dir` whose name ends in ".tmp" (a writer's temporary files).
inline int temp_files_under(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) ++n;
  }
  return n;
}

inline nlohmann::json run_json(const std::string& args, int expected_status) {
  const Result r = xsearch_run(args + " --json");
  INFO("xsearch " << args << "\nstderr: " << r.err);
  REQUIRE(r.status == expected_status);
  return nlohmann::json::parse(r.out);
}

inline std::string sqlite_value(const fs::path& db, const std::string& sql) {
  const std::string cmd = "sqlite3 " + quote(db.string()) + " " + quote(sql) + " 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// `sh -c COMMAND` as a child of this process (so that the test can signal it and read its exit status).
inline pid_t spawn_shell(const std::string& command) {
  pid_t pid = 0;
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char* const*>(argv), environ) == 0);
  return pid;
}

struct ChildEnd {
  int status = -1;  // exit status; 128 + N when killed by signal N
  double seconds = 0;  // from the call to its end
  long max_rss_kb = 0;
};

inline ChildEnd wait_child(pid_t pid) {
  const auto start = std::chrono::steady_clock::now();
  int raw = 0;
  struct rusage usage {};
  REQUIRE(wait4(pid, &raw, 0, &usage) == pid);
  ChildEnd end;
  end.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  end.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : -1;
  end.max_rss_kb = usage.ru_maxrss;
  return end;
}

}  // namespace xsearch::test
