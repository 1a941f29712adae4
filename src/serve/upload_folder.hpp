// Where `xsearch serve` keeps a dropped example while it is embedded: a private folder of this process,
// `$TMPDIR/xsearch-serve-<uid>/<host>.<pid>/` (both 0700, ours, never through a symbolic link), so that no
// other user can read or swap an upload, and what a killed serve left is recognised at the next start.
// Never the library's folder: the library may be read-only, and serve never writes to it.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

namespace xsearch::serve {

class UploadFolder {
 public:
  // Creates (or checks) the private folders under `temp_root` (default: std::filesystem::temp_directory_path())
  // and removes the folders of this host's serve processes that no longer run. Throws xsearch::Error naming
  // the folder when it cannot be made private (another owner, a symbolic link, group or world access).
  explicit UploadFolder(std::filesystem::path temp_root = {});
  ~UploadFolder();  // removes this process's folder and what is left in it

  const std::filesystem::path& path() const { return dir_; }
  // A fresh base name in the folder ("<n>"): an upload and its helper files are `<n>.<suffix>`.
  std::filesystem::path fresh();

 private:
  std::filesystem::path dir_;
  std::atomic<unsigned long> next_{0};
};

// Removes the regular files directly in `dir`, then `dir` (never follows a symbolic link). Never throws.
void remove_upload_dir(const std::filesystem::path& dir) noexcept;

}  // namespace xsearch::serve
