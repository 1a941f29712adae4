// Finding and starting a video player at a segment (cli/player.hpp).
#include "cli/player.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "xsearch/error.hpp"

extern char** environ;

namespace xsearch::cli {

namespace {

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s < 0 ? 0.0 : s);
  return buf;
}

std::string kind_of(const std::string& program) {
  const std::string name = std::filesystem::path(program).filename().string();
  if (name == "mpv") return "mpv";
  if (name == "vlc" || name == "cvlc") return "vlc";
  if (name == "ffplay") return "ffplay";
  if (name == "xdg-open" || name == "open") return "opener";
  return "other";
}

}  // namespace

std::string find_program(const std::string& name, const std::string& path_env) {
  std::size_t pos = 0;
  while (pos <= path_env.size()) {
    auto colon = path_env.find(':', pos);
    if (colon == std::string::npos) colon = path_env.size();
    const std::filesystem::path dir = path_env.substr(pos, colon - pos);
    pos = colon + 1;
    if (dir.empty() || !dir.is_absolute()) continue;  // never a program from the current folder
    const std::filesystem::path candidate = dir / name;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return candidate.string();
  }
  return "";
}

PlayerChoice find_player(const std::string& override, const std::string& path_env) {
  if (!override.empty()) return {override, kind_of(override)};
  for (const char* name : {"mpv", "vlc", "ffplay", "xdg-open", "open"}) {
    const std::string found = find_program(name, path_env);
    if (!found.empty()) return {found, kind_of(name)};
  }
  throw Error("--open: no video player found (looked for mpv, vlc, ffplay, xdg-open in PATH; set XSEARCH_PLAYER)");
}

std::vector<std::string> player_command(const PlayerChoice& p, const std::string& file, double start, double end) {
  // Each player quits at the end of the segment, so that `query --open` returns to the shell: mpv does
  // by itself (--end, then the end of its playlist); VLC needs --play-and-exit; ffplay -autoexit, and
  // -hide_banner -loglevel error keep its build banner and decoder chatter off the terminal.
  if (p.kind == "mpv") return {p.program, "--start=" + seconds(start), "--end=" + seconds(end), "--", file};
  if (p.kind == "vlc") return {p.program, "--play-and-exit", "--start-time=" + seconds(start), "--stop-time=" + seconds(end), file};
  if (p.kind == "ffplay")
    return {p.program, "-autoexit", "-hide_banner", "-loglevel", "error", "-ss", seconds(start), "-t", seconds(end - start), file};
  return {p.program, file};
}

int run_player(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  std::vector<std::string> args = command;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  // A program given by name ($XSEARCH_PLAYER=vlc) is looked up in PATH, as a shell would.
  const int r = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (r != 0) throw Error(command[0] + ": cannot start (" + std::strerror(r) + ")");
  int raw = 0;
  while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
}

}  // namespace xsearch::cli
