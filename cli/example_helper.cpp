#include "cli/example_helper.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/child_process.hpp"
#include "cli/full_exec.hpp"
#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"
#include "xsearch/npy.hpp"
#include "xsearch/settings.hpp"

namespace xsearch::cli {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Waits for child `pid` at most until `deadline`: true with its wait status in `status` once it has
// ended (reaped), false at the deadline (it still runs). A child's end cannot be waited for with a time
// limit through waitpid, so it is polled: every 10 ms costs nothing next to a model's run of seconds.
bool wait_until(pid_t pid, std::chrono::steady_clock::time_point deadline, int& status) {
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) throw Error("the model's helper: " + std::string(std::strerror(errno)));
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The helper's exit status; its stdout and stderr go to the files `out` and `err`. At `seconds` it is
// killed (SIGKILL: a decoder stuck in a loop on a hostile file may ignore anything milder), reaped, and
// ExampleTimedOut is thrown.
int run_helper(std::vector<std::string> args, const fs::path& db, const fs::path& out, const fs::path& err, int seconds) {
  const pid_t pid = spawn_with_library(args, db.string(), out, err);
  int status = 0;
  if (!wait_until(pid, std::chrono::steady_clock::now() + std::chrono::seconds(seconds), status)) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw ExampleTimedOut("the model's helper took longer than " + std::to_string(seconds) +
                          " s with the example and was stopped (" + std::string(kExampleSecondsVariable) + ")");
  }
  if (WIFSIGNALED(status)) throw Error(args[0] + ": ended by signal " + std::to_string(WTERMSIG(status)) + " while embedding the example");
  return WEXITSTATUS(status);
}

// A float32 vector as write_npy writes it: its fixed header, then the values.
std::vector<float> read_vector(const fs::path& npy) {
  const std::string bytes = slurp(npy);
  if (bytes.size() <= kNpyHeaderBytes || (bytes.size() - kNpyHeaderBytes) % sizeof(float) != 0 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw Error(npy.string() + ": the model's helper wrote no vector");
  std::vector<float> v((bytes.size() - kNpyHeaderBytes) / sizeof(float));
  std::memcpy(v.data(), bytes.data() + kNpyHeaderBytes, v.size() * sizeof(float));
  return v;
}

}  // namespace

int example_helper_seconds(const char* value) {
  if (!value || !*value) return kDefaultExampleSeconds;
  return whole_seconds_setting(kExampleSecondsVariable, value);
}

ExampleEmbedder helper_example_embedder(const fs::path& db, int seconds) {
  return [db, seconds](const ExampleRequest& r) {
    const fs::path npy = r.path.string() + ".npy", out = r.path.string() + ".out", err = r.path.string() + ".err";
    char at[64];
    std::snprintf(at, sizeof at, "@%.6f", r.seconds);
    std::vector<std::string> args = {helper_path("xsearch-full").string(), "query", "-k", "1", "--json",
                                     "--no-thumbnails", "--vector-out", npy.string(), "--device", r.device,
                                     "--threads", std::to_string(r.threads)};
    if (!r.model_dir.empty()) args.insert(args.end(), {"--model", r.model_dir.string()});
    args.insert(args.end(), {r.image ? "--image" : "--video", r.image ? r.path.string() : r.path.string() + at});
    const int status = run_helper(args, db, out, err, seconds);
    if (status != 0 && status != 1) {  // 1: no results, the vector was written all the same
      std::string why = slurp(err);
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
      if (why.rfind("xsearch: ", 0) == 0) why.erase(0, 9);
      throw Error(why.empty() ? r.path.string() + ": the model's helper failed (status " + std::to_string(status) + ")" : why);
    }
    ExampleEmbedding e;
    e.embedding = read_vector(npy);
    // The helper searched this library with this model, so it checked the model is the library's.
    e.fingerprint = model_identity(r.model_dir, static_cast<int64_t>(e.embedding.size())).fingerprint;
    const auto j = nlohmann::json::parse(slurp(out), nullptr, false);
    if (!j.is_discarded() && j.contains("example") && j["example"].is_object()) {
      // A still's times are null.
      if (j["example"]["start"].is_number()) e.start = j["example"]["start"].get<double>();
      if (j["example"]["end"].is_number()) e.end = e.duration = j["example"]["end"].get<double>();
    }
    return e;
  };
}

}  // namespace xsearch::cli
