// Models from the Hugging Face hub: download into the hub's cache layout (shared with Python tools),
// resumable, verified against the sizes and digests the hub announces; and a list of cached models.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace xsearch {

constexpr const char* kDefaultModelId = "microsoft/xclip-base-patch32";

struct PullProgress {
  std::string file;
  int64_t done = 0, total = 0;  // bytes of this file
  double bytes_per_second = 0;
};

struct PullOptions {
  std::string id = kDefaultModelId;
  std::string revision = "main";  // a branch, tag or commit sha
  // How long to wait for another process (e.g. Python's huggingface_hub) that is downloading the same
  // blob and holds its lock in <cache>/.locks/, before giving up with an error.
  double lock_timeout_seconds = 1800;
  std::function<void(const PullProgress&)> on_progress;
  std::function<void(const std::string&)> on_message;  // "file: up to date", ...
  std::function<void(const std::string&)> on_wait;     // "file: waiting for another process ..."
};

// The hub cache: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub.
std::filesystem::path hf_hub_cache();
// models--ORG--NAME under the cache.
std::filesystem::path hub_repo_folder(const std::string& id);

// Downloads what the model needs (config, processor config, weights, tokenizer files) from $HF_ENDPOINT
// (default https://huggingface.co) with $HF_TOKEN, honouring proxies; files already complete are kept,
// partial ones resumed. Refuses to download when $HF_HUB_OFFLINE is set. Returns the snapshot folder.
// Safety: an ETag must be a git sha1 or a sha256 and a commit a 40-hex sha, every path written stays
// inside the cache, every download is verified (or removed), redirects go to https only (plain http only
// from a loopback http endpoint to a loopback host), and each blob is written under huggingface_hub's
// lock file. Any breach throws xsearch::Error naming the repository, the file and the bad value.
std::filesystem::path pull_model(const PullOptions& options);

struct CachedModel {
  std::string id;
  std::string revision;
  std::filesystem::path dir;
  int64_t bytes = 0;
  bool complete = false;  // has config.json, model.safetensors (or pytorch_model.bin), vocab.json and merges.txt
};
std::vector<CachedModel> list_cached_models();

// Hex digests of a file's content (OpenSSL): sha256, and git's blob sha1 ("blob SIZE\0" + content), which
// is the ETag the hub gives small files.
std::string file_sha256(const std::filesystem::path& path);
std::string file_git_sha1(const std::filesystem::path& path);

}  // namespace xsearch
