// Which safetensors file holds a model folder's weights, and where the one-time conversion of a
// pytorch_model.bin goes. A conversion records the .bin it came from (size and modification time) in its
// header's metadata: a changed .bin is converted again, and a file without that record is the folder's
// own model.safetensors, used as it is.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <sstream>
#include <iomanip>

#include "xsearch/checkpoint.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace fs = std::filesystem;

namespace {

constexpr const char* kWeights = "model.safetensors";
constexpr const char* kBin = "pytorch_model.bin";
constexpr const char* kSourceKey = "xsearch_converted_from";
constexpr const char* kStampKey = "xsearch_source_stamp";

// The .bin as its conversion remembers it: "SIZE:SECONDS.NANOSECONDS" of the file (a hub snapshot's link is
// followed to its blob). Empty when it cannot be read.
std::string stamp_of(const fs::path& bin) {
  struct stat st {};
  if (::stat(bin.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// A hub snapshot, .../models--ORG--NAME/snapshots/COMMIT: its conversion goes to
// models--ORG--NAME/xsearch/COMMIT/, a folder of ours beside the hub's blobs, refs and snapshots.
std::optional<fs::path> hub_location(const fs::path& dir) {
  const fs::path snapshots = dir.parent_path();
  const fs::path repo = snapshots.parent_path();
  if (snapshots.filename() != "snapshots" || repo.filename().string().rfind("models--", 0) != 0) return std::nullopt;
  return repo / "xsearch" / dir.filename() / kWeights;
}

// $XDG_CACHE_HOME/xsearch/converted/KEY/model.safetensors, KEY a 64-bit FNV-1a of the .bin's absolute path
// (the file's identity is checked by its stamp; the key only needs to keep folders apart).
fs::path cache_location(const fs::path& bin) {
  fs::path cache;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    cache = x;
  } else {
    const char* home = std::getenv("HOME");
    cache = fs::path(home ? home : ".") / ".cache";
  }
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bin.string()) h = (h ^ c) * 1099511628211ull;
  std::ostringstream key;
  key << std::hex << std::setw(16) << std::setfill('0') << h;
  return cache / "xsearch" / "converted" / key.str() / kWeights;
}

// The metadata of a safetensors file, or nothing when it does not open.
std::optional<std::map<std::string, std::string>> metadata_of(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  try {
    return SafetensorsFile(file).metadata();
  } catch (const Error&) {
    return std::nullopt;
  }
}

bool is_conversion_of(const fs::path& file, const std::string& stamp) {
  const auto meta = metadata_of(file);
  if (!meta) return false;
  const auto it = meta->find(kStampKey);
  return it != meta->end() && it->second == stamp;
}

fs::path absolute_dir(const fs::path& dir) {
  std::error_code ec;
  const fs::path a = fs::absolute(dir, ec);
  return ec ? dir : a.lexically_normal();
}

// Where a conversion of `dir`'s .bin may go, best first.
std::vector<fs::path> conversion_targets(const fs::path& dir) {
  std::vector<fs::path> targets;
  if (const auto hub = hub_location(dir)) targets.push_back(*hub);  // never inside the snapshot itself
  else targets.push_back(dir / kWeights);
  targets.push_back(cache_location(dir / kBin));
  return targets;
}

bool writable_folder(const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  return !ec && ::access(folder.c_str(), W_OK) == 0;
}

}  // namespace

fs::path ready_weights_file(const fs::path& model_dir) {
  const fs::path dir = absolute_dir(model_dir);
  const fs::path bin = dir / kBin, beside = dir / kWeights;
  std::error_code ec;
  const bool have_bin = fs::exists(bin, ec);
  if (fs::exists(beside, ec)) {
    if (!have_bin) return beside;
    const auto meta = metadata_of(beside);
    // A file that does not open is the folder's own: the loader reports its defect by name.
    if (!meta || !meta->count(kStampKey) || meta->at(kStampKey) == stamp_of(bin)) return beside;
  }
  if (!have_bin) return {};
  const std::string stamp = stamp_of(bin);
  for (const auto& target : conversion_targets(dir))
    if (is_conversion_of(target, stamp)) return target;
  return {};
}

fs::path model_weights_file(const fs::path& model_dir) {
  if (fs::path ready = ready_weights_file(model_dir); !ready.empty()) return ready;
  const fs::path dir = absolute_dir(model_dir);
  const fs::path bin = dir / kBin;
  std::error_code ec;
  if (!fs::exists(bin, ec))
    throw Error((model_dir / kWeights).string() + ": missing (the folder has neither model.safetensors nor " + kBin + ")");
  const std::string stamp = stamp_of(bin);
  for (const auto& target : conversion_targets(dir)) {
    if (!writable_folder(target.parent_path())) continue;
    convert_pytorch_checkpoint(bin, target, {{kSourceKey, bin.string()}, {kStampKey, stamp}});
    return target;
  }
  throw Error(bin.string() + ": cannot store its conversion to safetensors: no writable folder among " +
              conversion_targets(dir)[0].parent_path().string() + " and " + conversion_targets(dir)[1].parent_path().string());
}

}  // namespace xsearch
