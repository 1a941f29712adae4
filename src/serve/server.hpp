// `xsearch serve`: a local web page and JSON API over a library (README: "Search page").
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "xsearch/query.hpp"

namespace xsearch::serve {

struct ServeOptions {
  std::filesystem::path db;
  std::filesystem::path model_dir;  // default: the library's model
  std::string host = "127.0.0.1";
  int port = 0;                     // 0: a free port
  int port_tries = 1;               // ports tried from `port` on, one after another, while taken
  int threads = 0;                  // text encoder threads
  // Embeds a dropped image or video (POST /api/example): LibTorch's, in xsearch-full or its helper
  // process (cli/example_helper.hpp). Without one, drops are refused (501).
  ExampleEmbedder embedder;
  std::filesystem::path temp_root;  // where the private folder of drops goes (default: $TMPDIR or /tmp)
};

// The largest file a drop may send (413 beyond it, before a byte is read): a phone's minute of 4K video
// is about 400 MB, and a still or a short clip is all the model needs.
inline constexpr long long kMaxExampleBytes = 512LL * 1024 * 1024;

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
