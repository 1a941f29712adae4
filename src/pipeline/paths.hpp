// Small file-system helpers shared by ingest and the library commands.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace xsearch {

// size and modification time (nanoseconds) of a regular file; false if there is none.
bool stat_file(const std::string& path, int64_t& size, int64_t& mtime_ns);

// Whether `path` is `root` or lies under it.
bool path_under(const std::string& path, const std::string& root);

// `p` absolute and normalised, without a trailing slash (except for "/" itself).
std::string absolute_path(const std::filesystem::path& p);

}  // namespace xsearch
