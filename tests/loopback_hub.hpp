// tests/hub_server.py on loopback, serving `folder` as a hub repository (default: the tiny full model),
// with HF_ENDPOINT and HF_HOME pointing at it and at tmp/hf; stopped at scope exit. `extra` passes the
// server's misbehaviour options (--corrupt FILE, --etag FILE=VALUE, --redirect-to URL, ...).
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "cli_runner.hpp"
#include "helpers.hpp"

namespace xsearch::test {

class LoopbackHub {
 public:
  explicit LoopbackHub(const TempDir& tmp, const std::string& extra = "",
                       const std::filesystem::path& folder = fixtures_dir() / "xclip-tiny-full") {
    const auto port_file = tmp / "port";
    const std::string cmd = "python3 " + quote(XSEARCH_SOURCE_DIR "/tests/hub_server.py") + " " + quote(folder.string()) + " " +
                            quote(port_file.string()) + " " + extra + " >/dev/null 2>&1 & echo $!";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    REQUIRE(fscanf(p, "%ld", &pid_) == 1);
    pclose(p);
    for (int i = 0; i < 300 && !std::filesystem::exists(port_file); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(std::filesystem::exists(port_file));
    ::setenv("HF_ENDPOINT", ("http://127.0.0.1:" + read_file(port_file)).c_str(), 1);
    ::setenv("HF_HOME", (tmp / "hf").c_str(), 1);
    ::unsetenv("HF_HUB_CACHE");
    ::unsetenv("HF_HUB_OFFLINE");
  }
  ~LoopbackHub() {
    ::kill(static_cast<pid_t>(pid_), SIGTERM);
    ::unsetenv("HF_ENDPOINT");
    ::unsetenv("HF_HOME");
  }
  LoopbackHub(const LoopbackHub&) = delete;
  LoopbackHub& operator=(const LoopbackHub&) = delete;

 private:
  long pid_ = 0;
};

}  // namespace xsearch::test
