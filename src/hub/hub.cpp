// Hub downloads with libcurl into the Hugging Face cache layout:
//   models--ORG--NAME/blobs/ETAG, snapshots/COMMIT/FILE -> ../../blobs/ETAG, refs/REVISION = COMMIT.
// A HEAD request (not following redirects) tells the commit, the ETag (sha256 for LFS files, git's sha1
// for small ones) and the size; the GET resumes a partial blob with a Range request.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>

#include "xsearch/checkpoint.hpp"
#include "xsearch/error.hpp"
#include "xsearch/hub.hpp"
#include "xsearch/pipeline.hpp"

namespace xsearch {

namespace fs = std::filesystem;

namespace {

struct FileSpec {
  const char* name;
  bool required;
};
const FileSpec kFiles[] = {{"config.json", true},           {"preprocessor_config.json", false},
                           {"vocab.json", true},            {"merges.txt", true},
                           {"tokenizer_config.json", false}, {"special_tokens_map.json", false},
                           {"tokenizer.json", false},        {"model.safetensors", false},
                           {"pytorch_model.bin", false}};  // only when there is no model.safetensors

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool offline() {
  std::string v = env("HF_HUB_OFFLINE");
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::string endpoint() {
  std::string e = env("HF_ENDPOINT");
  if (e.empty()) e = "https://huggingface.co";
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

std::string token() {
  std::string t = env("HF_TOKEN");
  if (t.empty()) t = env("HUGGING_FACE_HUB_TOKEN");
  return t;
}

struct Headers {
  long status = 0;
  std::map<std::string, std::string> values;  // lower-case names
  std::string get(const std::string& k) const {
    auto it = values.find(k);
    return it == values.end() ? "" : it->second;
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* h = static_cast<Headers*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) h->values.clear();  // a new response (after a redirect)
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string key = line.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    const auto b = value.find_first_not_of(" \t"), e = value.find_last_not_of(" \t\r\n");
    h->values[key] = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  }
  return size * n;
}

// ETags come quoted, sometimes weak: W/"abc" -> abc.
std::string clean_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  e.erase(std::remove(e.begin(), e.end(), '"'), e.end());
  return e;
}

struct Curl {
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  Curl() {
    if (!h) throw Error("libcurl failed to start");
    const std::string t = token();
    if (!t.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + t).c_str());
    headers = curl_slist_append(headers, "User-Agent: xsearch/0.1");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    // A transfer that stalls below 1 byte/s for a minute is abandoned (resumable later), never hung.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  }
  ~Curl() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
  }
};

struct RemoteFile {
  bool exists = false;
  std::string commit, etag;
  int64_t size = -1;
};

RemoteFile head(const std::string& url, const std::string& name) {
  Curl c;
  Headers h;
  curl_easy_setopt(c.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &h);
  const CURLcode rc = curl_easy_perform(c.h);
  if (rc != CURLE_OK) throw Error(url + ": " + curl_easy_strerror(rc) + " (check the network, a proxy, or HF_ENDPOINT)");
  curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &h.status);
  RemoteFile r;
  if (h.status == 404) return r;
  if (h.status == 401 || h.status == 403)
    throw Error(url + ": access denied (HTTP " + std::to_string(h.status) + "); set HF_TOKEN for a gated or private model");
  if (h.status >= 400) throw Error(url + ": HTTP " + std::to_string(h.status));
  r.exists = true;
  r.commit = h.get("x-repo-commit");
  r.etag = clean_etag(h.get("x-linked-etag").empty() ? h.get("etag") : h.get("x-linked-etag"));
  const std::string size = h.get("x-linked-size").empty() ? h.get("content-length") : h.get("x-linked-size");
  if (!size.empty()) r.size = std::stoll(size);
  if (r.etag.empty()) throw Error(url + ": the server gave no ETag for " + name + " (not a hub endpoint?)");
  return r;
}

struct Sink {
  std::ofstream* out;
  const PullOptions* options;
  std::string name;
  int64_t offset, total;
  std::chrono::steady_clock::time_point start;
  int64_t written = 0;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  s->out->write(data, static_cast<std::streamsize>(size * n));
  if (!*s->out) return 0;  // disk full: abort the transfer
  s->written += static_cast<int64_t>(size * n);
  if (s->options->on_progress) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - s->start).count();
    s->options->on_progress({s->name, s->offset + s->written, s->total, secs > 0 ? s->written / secs : 0});
  }
  return size * n;
}

void download(const std::string& url, const fs::path& partial, const std::string& name, int64_t total, const PullOptions& o) {
  std::error_code ec;
  int64_t have = fs::exists(partial, ec) ? static_cast<int64_t>(fs::file_size(partial, ec)) : 0;
  if (total >= 0 && have > total) {
    fs::remove(partial, ec);
    have = 0;
  }
  if (total >= 0 && have == total) return;
  std::ofstream out(partial, std::ios::binary | std::ios::app);
  if (!out) throw Error(partial.string() + ": cannot write (disk full or no permission?)");
  Curl c;
  Headers h;
  Sink sink{&out, &o, name, have, total, std::chrono::steady_clock::now()};
  curl_easy_setopt(c.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &h);
  curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c.h, CURLOPT_FAILONERROR, 1L);
  if (have > 0) curl_easy_setopt(c.h, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(have));
  const CURLcode rc = curl_easy_perform(c.h);
  out.close();
  curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &h.status);
  if (rc == CURLE_RANGE_ERROR || (have > 0 && h.status == 200)) {
    // The server ignored the range: start over, once.
    fs::remove(partial, ec);
    if (have > 0) download(url, partial, name, total, o);
    return;
  }
  if (rc != CURLE_OK)
    throw Error(url + ": download interrupted (" + std::string(curl_easy_strerror(rc)) + "); run the command again to resume");
}

void verify(const fs::path& file, const std::string& etag, int64_t size, const std::string& name) {
  std::error_code ec;
  const auto got = static_cast<int64_t>(fs::file_size(file, ec));
  if (size >= 0 && got != size)
    throw Error(name + ": downloaded " + std::to_string(got) + " bytes, the hub announced " + std::to_string(size));
  const bool hex = std::all_of(etag.begin(), etag.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (hex && etag.size() == 64 && file_sha256(file) != etag) throw Error(name + ": corrupted download (sha256 differs from the hub's)");
  if (hex && etag.size() == 40 && file_git_sha1(file) != etag) throw Error(name + ": corrupted download (sha1 differs from the hub's)");
}

}  // namespace

fs::path pull_model(const PullOptions& o) {
  if (o.id.find('/') == std::string::npos || o.id.find("..") != std::string::npos)
    throw Error(o.id + ": not a hub model id (ORG/NAME, e.g. " + std::string(kDefaultModelId) + ")");
  if (offline()) {
    try {
      return resolve_model_dir(o.id);
    } catch (const Error&) {
      throw Error(o.id + ": HF_HUB_OFFLINE is set and the model is not in the cache (" + hf_hub_cache().string() + ")");
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const fs::path repo = hub_repo_folder(o.id);
  std::error_code ec;
  fs::create_directories(repo / "blobs", ec);
  if (ec) throw Error((repo / "blobs").string() + ": cannot create (" + ec.message() + ")");
  std::string commit;
  std::string weights;  // which weights file the repository has
  for (const auto& spec : kFiles) {
    const bool bin = std::string(spec.name) == "pytorch_model.bin";
    if (bin && !weights.empty()) continue;  // model.safetensors is there: the .bin is not needed
    const std::string url = endpoint() + "/" + o.id + "/resolve/" + o.revision + "/" + spec.name;
    const RemoteFile remote = head(url, spec.name);
    if (!remote.exists) {
      if (spec.required) throw Error(o.id + ": the repository has no " + spec.name + " (is it an X-CLIP model?)");
      if (bin) throw Error(o.id + ": the repository has neither model.safetensors nor pytorch_model.bin (is it an X-CLIP model?)");
      continue;
    }
    if (bin || std::string(spec.name) == "model.safetensors") weights = spec.name;
    if (commit.empty()) commit = remote.commit.empty() ? o.revision : remote.commit;
    const fs::path blob = repo / "blobs" / remote.etag;
    const fs::path snapshot = repo / "snapshots" / commit / spec.name;
    fs::create_directories(snapshot.parent_path(), ec);
    if (fs::exists(blob) && (remote.size < 0 || static_cast<int64_t>(fs::file_size(blob, ec)) == remote.size)) {
      if (o.on_message) o.on_message(std::string(spec.name) + ": up to date");
    } else {
      const fs::path partial = blob.string() + ".incomplete";
      download(url, partial, spec.name, remote.size, o);
      try {
        verify(partial, remote.etag, remote.size, spec.name);
      } catch (const Error&) {
        fs::remove(partial, ec);  // a bad download must not be resumed
        throw;
      }
      fs::rename(partial, blob);
      if (o.on_message) o.on_message(std::string(spec.name) + ": downloaded");
    }
    fs::remove(snapshot, ec);
    fs::create_symlink(fs::path("..") / ".." / "blobs" / remote.etag, snapshot, ec);
    if (ec) fs::copy_file(blob, snapshot, fs::copy_options::overwrite_existing);  // no symlinks here
  }
  fs::create_directories(repo / "refs", ec);
  {
    std::ofstream ref(repo / "refs" / o.revision, std::ios::trunc);
    ref << commit;
  }
  const fs::path snapshot = repo / "snapshots" / commit;
  if (weights == "pytorch_model.bin") {
    // Converted once, beside the snapshots (never inside them): see model_weights_file().
    const bool had = !ready_weights_file(snapshot).empty();
    const fs::path converted = model_weights_file(snapshot);
    if (o.on_message)
      o.on_message(had ? "model.safetensors: up to date (converted from pytorch_model.bin: " + converted.string() + ")"
                       : "pytorch_model.bin: converted to " + converted.string());
  }
  return snapshot;
}

std::vector<CachedModel> list_cached_models() {
  std::vector<CachedModel> out;
  std::error_code ec;
  const fs::path cache = hf_hub_cache();
  if (!fs::is_directory(cache, ec)) return out;
  for (const auto& repo : fs::directory_iterator(cache, ec)) {
    const std::string name = repo.path().filename().string();
    if (name.rfind("models--", 0) != 0) continue;
    std::string id = name.substr(8);
    const auto sep = id.find("--");
    if (sep == std::string::npos) continue;
    id.replace(sep, 2, "/");
    CachedModel m;
    m.id = id;
    try {
      m.dir = resolve_model_dir(id);
    } catch (const Error&) {
      continue;
    }
    m.revision = m.dir.filename().string();
    for (const auto& f : fs::directory_iterator(m.dir, ec)) m.bytes += static_cast<int64_t>(fs::file_size(f.path(), ec));
    m.complete = fs::exists(m.dir / "config.json") &&
                 (fs::exists(m.dir / "model.safetensors") || fs::exists(m.dir / "pytorch_model.bin")) &&
                 fs::exists(m.dir / "vocab.json") && fs::exists(m.dir / "merges.txt");
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const CachedModel& a, const CachedModel& b) { return a.id < b.id; });
  return out;
}

}  // namespace xsearch
