#include "hub/cache_paths.hpp"

#include <unistd.h>

#include <algorithm>

#include "hub/response_headers.hpp"
#include "io/atomic_file.hpp"
#include "xsearch/error.hpp"

namespace xsearch::hub {

namespace fs = std::filesystem;

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// True when `p` (absolute, normalised) is `root` or below it.
bool is_within(const fs::path& root, const fs::path& p) {
  const fs::path rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

void check_model_id(const std::string& id) {
  const auto slash = id.find('/');
  const bool ok = slash != std::string::npos && slash > 0 && slash + 1 < id.size() && id.find('/', slash + 1) == std::string::npos &&
                  id.size() <= 96 && id.find("--") == std::string::npos && id.find("..") == std::string::npos &&
                  std::all_of(id.begin(), id.end(), [](char c) { return c == '/' || is_name_char(c); }) &&
                  id.front() != '.' && id[slash + 1] != '.';
  if (!ok) throw Error(printable(id, kShownChars) + ": not a hub model id (ORG/NAME of letters, digits, '.', '_', '-', e.g. microsoft/xclip-base-patch32)");
}

void check_revision(const std::string& revision) {
  auto bad = [&](const std::string& why) {
    return Error("--revision '" + printable(revision, kShownChars) + "': not a safe revision name (" + why + ")");
  };
  if (revision.empty()) throw bad("empty");
  if (revision.size() > 200) throw bad("longer than 200 characters");
  std::size_t pos = 0;
  while (pos <= revision.size()) {
    auto slash = revision.find('/', pos);
    if (slash == std::string::npos) slash = revision.size();
    const std::string part = revision.substr(pos, slash - pos);
    if (part.empty()) throw bad("an empty path component");
    if (part.front() == '.') throw bad("a component starting with '.'");
    if (!std::all_of(part.begin(), part.end(), [](char c) { return is_name_char(c) || c == '+'; }))
      throw bad("only letters, digits, '.', '_', '-', '+' and '/' are allowed");
    pos = slash + 1;
  }
}

void check_inside_cache(const fs::path& cache, const fs::path& path) {
  auto outside = [&] { return Error(path.string() + ": refusing to write outside the hub cache " + cache.string()); };
  const fs::path root = fs::absolute(cache).lexically_normal();
  const fs::path p = fs::absolute(path).lexically_normal();
  if (!is_within(root, p) || p == root) throw outside();
  // Resolved: the cache itself may be a symlink (HF_HOME on another disk); what is below it may not lead out.
  std::error_code ec;
  const fs::path real_root = fs::weakly_canonical(root, ec);
  if (ec) throw Error(cache.string() + ": cannot resolve (" + ec.message() + ")");
  const fs::path real_parent = fs::weakly_canonical(p.parent_path(), ec);
  if (ec) throw Error(p.parent_path().string() + ": cannot resolve (" + ec.message() + ")");
  if (!is_within(real_root, real_parent)) throw outside();
  // A symlink at `path` itself (dangling ones too: writing through them creates their target) must
  // lead inside; follow a chain of them as the kernel would (it gives up after 40).
  fs::path link = real_parent / p.filename();
  for (int hops = 0; fs::is_symlink(fs::symlink_status(link, ec)); ++hops) {
    fs::path target = fs::read_symlink(link, ec);
    if (ec || hops >= 40) throw outside();
    if (target.is_relative()) target = link.parent_path() / target;
    link = fs::weakly_canonical(target.lexically_normal(), ec);
    if (ec || !is_within(real_root, link) || link == real_root) throw outside();
  }
}

void write_file_atomically(const fs::path& cache, const fs::path& path, const std::string& text) {
  // The temporary file lies beside `path`, so inside the same checked folder; it is created with O_EXCL,
  // which refuses a symbolic link planted at its name.
  check_inside_cache(cache, path);
  atomic_write(path, text);
}

}  // namespace xsearch::hub
