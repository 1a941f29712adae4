// `xsearch serve`: the local search page. It needs FFmpeg for thumbnails and renditions, so the light
// `xsearch` hands it to `xsearch-media` (FFmpeg, no LibTorch; queries use the native text encoder).
#include <fmt/core.h>

#include <spawn.h>
#include <cerrno>
#include <cstdlib>
#include <sys/wait.h>
#include <thread>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/example_helper.hpp"
#include "cli/full_exec.hpp"
#include "cli/player.hpp"
#ifdef XSEARCH_MEDIA
#include "serve/server.hpp"
#endif
#include "xsearch/pipeline.hpp"

extern char** environ;

namespace xsearch::cli {

namespace {

// A stable default, so that a bookmark of the page keeps working; when it is taken (a second library
// served, another program) the next ones are tried, and the URL printed says which.
constexpr int kDefaultPort = 8765;
constexpr int kDefaultPortTries = 10;

struct ServeArgs {
  std::string db, model, host = "127.0.0.1";
  int port = kDefaultPort, threads = 0;
  bool port_given = false;
  bool open = false;
};

#ifdef XSEARCH_MEDIA
// Starts the desktop's opener on the URL and says which; a missing opener is only a warning.
void open_browser(const std::string& url) {
  const char* path_env = std::getenv("PATH");
  for (const char* opener : {"xdg-open", "open"}) {
    const std::string program = find_program(opener, path_env ? path_env : "");  // never from the current folder
    if (program.empty()) continue;
    pid_t pid = 0;
    const char* argv[] = {program.c_str(), url.c_str(), nullptr};
    if (posix_spawn(&pid, program.c_str(), nullptr, nullptr, const_cast<char* const*>(argv), environ) == 0) {
      // Reaped when it exits (xdg-open returns at once), so that no zombie stays while serve runs.
      std::thread([pid] {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
      }).detach();
      fmt::print(stderr, "xsearch: opened {} with {}\n", url, program);
      return;
    }
  }
  fmt::print(stderr, "xsearch: no browser opener found (xdg-open); open {} yourself\n", url);
}
#endif

int run_serve(const ServeArgs& a) {
#ifndef XSEARCH_MEDIA
  (void)a;
  exec_media();  // thumbnails and renditions need FFmpeg
  return 2;
#else
  serve::ServeOptions o;
  o.db = resolve_db(a.db);
  if (const std::string m = resolve_model(a.model); !m.empty()) o.model_dir = resolve_model_dir(m);
  o.host = a.host;
  o.port = a.port;
  o.port_tries = a.port_given ? 1 : kDefaultPortTries;  // a port asked for is that port or an error
  o.threads = a.threads;
  // The vision model runs in xsearch-full, as a child, within a time limit (a bad value stops serve here):
  // also when this is xsearch-full itself, since a thread stuck on a hostile file cannot be stopped, and a
  // crash in a child is that drop's error, not the server's end.
  o.embedder = helper_example_embedder(o.db, example_helper_seconds(std::getenv(kExampleSecondsVariable)));
  serve::run_server(o, [&](const std::string& url) {
    if (!a.port_given && url.find(":" + std::to_string(kDefaultPort) + "/") == std::string::npos)
      fmt::print(stderr, "xsearch: port {} is taken; using the next free one\n", kDefaultPort);
    write_stdout(fmt::format("xsearch: serving {} on {} (Ctrl-C to stop)\n", Library::open(o.db, false).path().string(), url));
    flush_stdout();
    if (a.open) open_browser(url);
  });
  return 0;
#endif
}

}  // namespace

void add_serve_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Search the library in a local web page (thumbnails, player)");
  add_db_option(cmd, a->db);
  cmd->add_option("--host", a->host, "Address to listen on (default 127.0.0.1: this machine only)");
  cmd->add_option_function<int>(
         "--port", [a](int p) { a->port = p, a->port_given = true; },
         fmt::format("Port (default {}, or the next free of the {} after it; 0: any free one)", kDefaultPort, kDefaultPortTries - 1))
      ->check(CLI::Range(0, 65535));
  cmd->add_flag("--open", a->open, "Open the page in the browser");
  cmd->add_option("--model", a->model, "Model: a folder or a hub id (default: $XSEARCH_MODEL, else the library's)");
  cmd->add_option("--threads", a->threads, "Text encoder threads (default: all cores)");
  cmd->callback([a, &run] { run = [a] { return run_serve(*a); }; });
}

}  // namespace xsearch::cli
