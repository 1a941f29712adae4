// Hub downloads with libcurl into the Hugging Face cache layout:
//   models--ORG--NAME/blobs/ETAG, snapshots/COMMIT/FILE -> ../../blobs/ETAG, refs/REVISION = COMMIT.
// A HEAD request (not following redirects) tells the commit, the ETag (sha256 for LFS files, git's sha1
// for small ones) and the size; the GET resumes a partial blob with a Range request. Everything the
// server says is checked before it names a path (response_headers.cpp, cache_paths.cpp), redirects are
// followed one by one under url_policy.cpp, and each blob is written under huggingface_hub's lock.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include "xsearch/checkpoint.hpp"
#include "hub/blob_lock.hpp"
#include "hub/cache_paths.hpp"
#include "hub/response_headers.hpp"
#include "hub/url_policy.hpp"
#include "xsearch/error.hpp"
#include "xsearch/hub.hpp"
#include "xsearch/pipeline.hpp"

namespace xsearch {

namespace fs = std::filesystem;
using namespace hub;

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

// At most this many redirects per download (the hub uses one, to its CDN).
constexpr int kMaxRedirects = 10;

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

// A revision as one URL path segment ('/' too, as huggingface_hub quotes it).
std::string url_segment(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The header lines of the latest response (curl reports every response of a request; a status line
// starts a new one), and its status as soon as the status line is in.
struct HeaderText {
  std::string text;
  long status = 0;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* h = static_cast<HeaderText*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    h->text.clear();
    h->status = 0;
    const auto sp = line.find(' ');
    if (sp != std::string::npos && sp + 4 <= line.size()) {
      const std::string code = line.substr(sp + 1, 3);
      if (std::all_of(code.begin(), code.end(), ::isdigit)) h->status = std::stol(code);
    }
  }
  h->text += line;
  return size * n;
}

struct Curl {
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  Curl() {
    if (!h) throw Error("libcurl failed to start");
    send_token(true);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    // A transfer that stalls below 1 byte/s for a minute is abandoned (resumable later), never hung.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    // Redirects are followed by hand (download below), each one checked; curl itself speaks only http(s).
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  }
  // The token goes to the endpoint only, never to a host a redirect names (the hub's CDN): curl would
  // strip it when it follows a redirect itself, so we do the same when we follow one.
  void send_token(bool send) {
    curl_slist_free_all(headers);
    headers = nullptr;
    const std::string t = token();
    if (send && !t.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + t).c_str());
    headers = curl_slist_append(headers, "User-Agent: xsearch/0.1");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  }
  ~Curl() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
  }
};

struct RemoteFile {
  bool exists = false;
  HubFileMetadata meta;
};

RemoteFile head(const std::string& url, const std::string& id, const std::string& name) {
  Curl c;
  HeaderText text;
  curl_easy_setopt(c.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &text);
  const CURLcode rc = curl_easy_perform(c.h);
  if (rc != CURLE_OK) throw Error(url + ": " + curl_easy_strerror(rc) + " (check the network, a proxy, or HF_ENDPOINT)");
  long status = 0;
  curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 300 && status < 400) {
    // The GET will be sent where this points: refused now, by the same rule, with the reason (a file://
    // target would otherwise end as a puzzling size mismatch).
    char* next = nullptr;
    curl_easy_getinfo(c.h, CURLINFO_REDIRECT_URL, &next);
    if (next) check_redirect(endpoint(), url, next);
  }
  RemoteFile r;
  if (status == 404) return r;
  if (status == 401 || status == 403)
    throw Error(url + ": access denied (HTTP " + std::to_string(status) + "); set HF_TOKEN for a gated or private model");
  if (status >= 400) throw Error(url + ": HTTP " + std::to_string(status));
  r.exists = true;
  r.meta = hub_file_metadata(parse_response_headers(text.text, url), id, name);
  return r;
}

struct Sink {
  std::ofstream* out;
  const HeaderText* headers;
  const PullOptions* options;
  std::string name;
  int64_t offset, total;
  std::chrono::steady_clock::time_point start;
  int64_t written = 0;
  bool too_long = false;  // the body went past the size the HEAD announced
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (s->headers->status < 200 || s->headers->status >= 300) return size * n;  // a redirect's body: not the file
  if (s->offset > 0 && s->headers->status == 200) return 0;  // the server ignored the Range: abort, start over
  // Not one byte past the announced size: an endless body would otherwise fill the disk before the
  // size check at the end could refuse it.
  if (s->total >= 0 && static_cast<int64_t>(size * n) > s->total - s->offset - s->written) {
    s->too_long = true;
    return 0;
  }
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
  if (total >= 0 && have == total && fs::exists(partial, ec)) return;
  std::ofstream out(partial, std::ios::binary | std::ios::app);
  if (!out) throw Error(partial.string() + ": cannot write (disk full or no permission?)");
  Curl c;
  HeaderText text;
  Sink sink{&out, &text, &o, name, have, total, std::chrono::steady_clock::now()};
  curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &text);
  curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c.h, CURLOPT_FAILONERROR, 1L);
  // A Range header, not CURLOPT_RESUME_FROM_LARGE: curl 8 (Debian 13) fails a resumed request answered by a
  // redirect with CURLE_RANGE_ERROR before it can be followed. on_body refuses a 200 (the range ignored),
  // as curl does for a resumed request.
  const std::string range = std::to_string(have) + "-";
  if (have > 0) curl_easy_setopt(c.h, CURLOPT_RANGE, range.c_str());
  // Each redirect is checked before it is followed: https only, plain http only on loopback.
  std::string current = url;
  CURLcode rc = CURLE_OK;
  long status = 0;
  for (int hop = 0;; ++hop) {
    curl_easy_setopt(c.h, CURLOPT_URL, current.c_str());
    rc = curl_easy_perform(c.h);
    curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status < 300 || status >= 400) break;
    char* next = nullptr;
    curl_easy_getinfo(c.h, CURLINFO_REDIRECT_URL, &next);
    if (!next) throw Error(current + ": HTTP " + std::to_string(status) + " without a Location to follow");
    const std::string target = next;
    check_redirect(endpoint(), current, target);
    if (hop >= kMaxRedirects) throw Error(url + ": more than " + std::to_string(kMaxRedirects) + " redirects");
    current = target;
    c.send_token(same_origin(endpoint(), current));
  }
  out.close();
  if (sink.too_long) {
    fs::remove(partial, ec);
    throw Error(current + ": the server sent more than the " + std::to_string(total) + " bytes it announced for " + name +
                "; download stopped and discarded");
  }
  if (rc == CURLE_RANGE_ERROR || (have > 0 && status == 200)) {  // nothing of a 200 was written (on_body)
    // The server ignored the range: start over, once.
    fs::remove(partial, ec);
    if (have > 0) download(url, partial, name, total, o);
    return;
  }
  if (rc != CURLE_OK)
    throw Error(url + ": download interrupted (" + std::string(curl_easy_strerror(rc)) + "); run the command again to resume");
  if (have > 0 && status == 206) {
    // The part must continue where the file stopped, or the bytes would land at the wrong offset.
    const ResponseHeaders h = parse_response_headers(text.text, current);
    if (!h.content_range || h.content_range->first != have || (total >= 0 && h.content_range->total >= 0 && h.content_range->total != total)) {
      fs::remove(partial, ec);
      throw Error(current + ": the server resumed at another offset than " + std::to_string(have) + "; run the command again");
    }
  }
}

void verify(const fs::path& file, const std::string& etag, int64_t size, const std::string& name) {
  std::error_code ec;
  const auto got = static_cast<int64_t>(fs::file_size(file, ec));
  if (size >= 0 && got != size)
    throw Error(name + ": downloaded " + std::to_string(got) + " bytes, the hub announced " + std::to_string(size));
  if (is_sha256(etag)) {
    if (file_sha256(file) != etag) throw Error(name + ": corrupted download (sha256 differs from the hub's)");
  } else if (is_git_sha1(etag)) {
    if (file_git_sha1(file) != etag) throw Error(name + ": corrupted download (sha1 differs from the hub's)");
  } else {
    throw Error(name + ": cannot verify the download (ETag '" + printable(etag, kShownChars) + "' is no digest)");  // checked before; kept
  }
}

bool blob_complete(const fs::path& blob, int64_t size) {
  std::error_code ec;
  return fs::is_regular_file(blob, ec) && (size < 0 || static_cast<int64_t>(fs::file_size(blob, ec)) == size);
}

// Downloads one blob under huggingface_hub's lock, verifies it and moves it into place. Nothing that
// fails the check is kept.
void fetch_blob(const fs::path& cache, const fs::path& repo, const std::string& url, const RemoteFile& remote,
                const std::string& name, const PullOptions& o) {
  const fs::path blob = repo / "blobs" / remote.meta.etag;
  const fs::path partial = blob.string() + ".incomplete";
  check_inside_cache(cache, blob);
  check_inside_cache(cache, partial);
  BlobLock lock(cache, cache / ".locks" / repo.filename() / (remote.meta.etag + ".lock"), o.lock_timeout_seconds,
                o.on_wait, name);
  if (blob_complete(blob, remote.meta.size)) {  // another process finished it while we waited
    if (o.on_message) o.on_message(name + ": up to date");
    return;
  }
  download(url, partial, name, remote.meta.size, o);
  std::error_code ec;
  try {
    verify(partial, remote.meta.etag, remote.meta.size, name);
  } catch (const Error&) {
    fs::remove(partial, ec);  // a bad download must not be resumed
    throw;
  }
  fs::rename(partial, blob, ec);
  if (ec) throw Error(blob.string() + ": cannot move the download into place (" + ec.message() + ")");
  if (o.on_message) o.on_message(name + ": downloaded");
}

void link_snapshot(const fs::path& cache, const fs::path& blob, const fs::path& snapshot) {
  std::error_code ec;
  check_inside_cache(cache, snapshot.parent_path());
  fs::create_directories(snapshot.parent_path(), ec);
  if (ec) throw Error(snapshot.parent_path().string() + ": cannot create (" + ec.message() + ")");
  check_inside_cache(cache, snapshot);
  fs::remove(snapshot, ec);
  fs::create_symlink(fs::path("..") / ".." / "blobs" / blob.filename(), snapshot, ec);
  if (ec) fs::copy_file(blob, snapshot, fs::copy_options::overwrite_existing);  // no symlinks here
}

}  // namespace

fs::path pull_model(const PullOptions& o) {
  check_model_id(o.id);
  check_revision(o.revision);
  if (offline()) {
    try {
      return resolve_model_dir(o.id);
    } catch (const Error&) {
      throw Error(o.id + ": HF_HUB_OFFLINE is set and the model is not in the cache (" + hf_hub_cache().string() + ")");
    }
  }
  check_endpoint(endpoint());
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const fs::path cache = hf_hub_cache();
  const fs::path repo = hub_repo_folder(o.id);
  check_inside_cache(cache, repo / "blobs");
  std::error_code ec;
  fs::create_directories(repo / "blobs", ec);
  if (ec) throw Error((repo / "blobs").string() + ": cannot create (" + ec.message() + ")");
  check_inside_cache(cache, repo / "blobs");  // again, now that the folders exist and symlinks can be resolved
  // The first answer pins the commit; every other file is asked for by that commit, so that a branch
  // that moves during the pull cannot mix two versions in one snapshot.
  std::string commit;
  std::string weights;  // which weights file the repository has
  for (const auto& spec : kFiles) {
    const bool bin = std::string(spec.name) == "pytorch_model.bin";
    if (bin && !weights.empty()) continue;  // model.safetensors is there: the .bin is not needed
    const std::string rev = commit.empty() ? o.revision : commit;
    const std::string url = endpoint() + "/" + o.id + "/resolve/" + url_segment(rev) + "/" + spec.name;
    const RemoteFile remote = head(url, o.id, spec.name);
    if (!remote.exists) {
      if (spec.required) throw Error(o.id + ": the repository has no " + spec.name + " (is it an X-CLIP model?)");
      if (bin) throw Error(o.id + ": the repository has neither model.safetensors nor pytorch_model.bin (is it an X-CLIP model?)");
      continue;
    }
    if (bin || std::string(spec.name) == "model.safetensors") weights = spec.name;
    std::string file_commit = remote.meta.commit;
    if (file_commit.empty()) {
      if (!is_git_sha1(rev)) throw Error(url + ": the server gave no X-Repo-Commit (not a hub endpoint?)");
      file_commit = rev;
    }
    if (is_git_sha1(rev) && file_commit != rev)
      throw Error(o.id + ": " + spec.name + ": asked for commit " + rev + ", the server answered " + file_commit);
    if (commit.empty()) commit = file_commit;
    const fs::path blob = repo / "blobs" / remote.meta.etag;
    if (blob_complete(blob, remote.meta.size)) {
      if (o.on_message) o.on_message(std::string(spec.name) + ": up to date");
    } else {
      fetch_blob(cache, repo, url, remote, spec.name, o);
    }
    link_snapshot(cache, blob, repo / "snapshots" / commit / spec.name);
  }
  // As huggingface_hub: a branch or tag gets refs/REVISION (sub-folders for '/'); a commit gets none.
  if (o.revision != commit) {
    const fs::path ref = repo / "refs" / o.revision;
    check_inside_cache(cache, ref.parent_path());
    fs::create_directories(ref.parent_path(), ec);
    if (ec) throw Error(ref.parent_path().string() + ": cannot create (" + ec.message() + ")");
    write_file_atomically(cache, ref, commit);
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
