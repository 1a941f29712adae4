// Where a model lives: a folder, or a hub id in the Hugging Face cache layout
// (models--ORG--NAME/snapshots/REVISION/, with refs/main naming the revision).
#include <cstdlib>
#include <fstream>

#include "xsearch/error.hpp"
#include "xsearch/hub.hpp"
#include "xsearch/model_resolution.hpp"

namespace xsearch {

namespace fs = std::filesystem;

fs::path hf_hub_cache() {
  if (const char* c = std::getenv("HF_HUB_CACHE"); c && *c) return c;
  if (const char* h = std::getenv("HF_HOME"); h && *h) return fs::path(h) / "hub";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "huggingface" / "hub";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : ".") / ".cache" / "huggingface" / "hub";
}

fs::path hub_repo_folder(const std::string& id) {
  std::string name = "models--";
  for (char c : id) name += c == '/' ? std::string("--") : std::string(1, c);
  return hf_hub_cache() / name;
}

fs::path resolve_model_dir(const std::string& spec) {
  if (spec.empty()) throw Error("no model given (--model FOLDER or hub id, or XSEARCH_MODEL)");
  std::error_code ec;
  if (fs::is_directory(spec, ec)) return fs::absolute(spec).lexically_normal();
  const bool looks_like_id = spec.find('/') != std::string::npos && spec.front() != '/' && spec.front() != '.' &&
                             spec.find('/') == spec.rfind('/');
  if (!looks_like_id) throw Error(spec + ": no such model folder");
  const fs::path repo = hub_repo_folder(spec);
  std::string revision;
  std::ifstream ref(repo / "refs" / "main");
  if (ref) std::getline(ref, revision);
  if (!revision.empty() && fs::is_directory(repo / "snapshots" / revision, ec)) return repo / "snapshots" / revision;
  // No refs/main: take the only snapshot there is.
  if (fs::is_directory(repo / "snapshots", ec)) {
    fs::path only;
    int count = 0;
    for (const auto& e : fs::directory_iterator(repo / "snapshots", ec)) {
      only = e.path();
      ++count;
    }
    if (count == 1) return only;
  }
  throw Error(spec + ": not downloaded yet (run `xsearch model pull " + spec + "`; cache: " + hf_hub_cache().string() + ")");
}

}  // namespace xsearch
