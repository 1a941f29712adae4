#include "pipeline/paths.hpp"

#include <sys/stat.h>

namespace xsearch {

bool stat_file(const std::string& path, int64_t& size, int64_t& mtime_ns) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  size = st.st_size;
  mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

bool path_under(const std::string& path, const std::string& root) {
  if (path == root) return true;
  const std::string prefix = root.empty() || root.back() == '/' ? root : root + "/";
  return path.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace xsearch

namespace xsearch {

std::string absolute_path(const std::filesystem::path& p) {
  std::string s = std::filesystem::absolute(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace xsearch
