// `xsearch serve`: a local web page and JSON API over a library (README: "Search page").
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace xsearch::serve {

struct ServeOptions {
  std::filesystem::path db;
  std::filesystem::path model_dir;  // default: the library's model
  std::string host = "127.0.0.1";
  int port = 0;                     // 0: a free port
  int port_tries = 1;               // ports tried from `port` on, one after another, while taken
  int threads = 0;                  // text encoder threads
};

// Binds, calls `on_listening(url)` once the socket accepts connections, and serves until the process is
// stopped (SIGINT/SIGTERM end it cleanly). Throws xsearch::Error when the address cannot be bound.
void run_server(const ServeOptions& options, const std::function<void(const std::string& url)>& on_listening);

// The page's files, embedded at build time (generated web_assets.cpp): name -> contents; nullptr if absent.
struct WebAsset {
  const char* name;
  const char* content_type;
  const unsigned char* data;
  unsigned long size;
};
const WebAsset* find_web_asset(const std::string& name);

}  // namespace xsearch::serve
