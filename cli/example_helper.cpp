#include "cli/example_helper.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/full_exec.hpp"
#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"
#include "xsearch/npy.hpp"

extern char** environ;

namespace xsearch::cli {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The helper's exit status; its stdout and stderr go to the files `out` and `err`.
int run_helper(std::vector<std::string> args, const fs::path& out, const fs::path& err) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  pid_t pid = 0;
  const int r = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (r != 0) throw Error(args[0] + ": cannot start the model's helper: " + std::strerror(r));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error(args[0] + ": " + std::strerror(errno));
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

ExampleEmbedder helper_example_embedder(const fs::path& db) {
  return [db](const ExampleRequest& r) {
    const fs::path npy = r.path.string() + ".npy", out = r.path.string() + ".out", err = r.path.string() + ".err";
    char at[64];
    std::snprintf(at, sizeof at, "@%.6f", r.seconds);
    std::vector<std::string> args = {helper_path("xsearch-full").string(), "query", "--db", db.string(), "-k", "1", "--json",
                                     "--no-thumbnails", "--vector-out", npy.string(), "--device", r.device,
                                     "--threads", std::to_string(r.threads)};
    if (!r.model_dir.empty()) args.insert(args.end(), {"--model", r.model_dir.string()});
    args.insert(args.end(), {r.image ? "--image" : "--video", r.image ? r.path.string() : r.path.string() + at});
    const int status = run_helper(args, out, err);
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
