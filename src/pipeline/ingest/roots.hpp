// The roots of an ingest, as the other stages see them: absolute and normalised, each walked once.
// `ingest ~/V ~/V/sub ~/V` walks ~/V alone: a root that repeats another or lies inside one adds nothing
// but a second walk (every problem under it reported twice). A root inside another is kept only when the
// outer walk would not reach it: behind a hidden name without --hidden (a file or folder named on the
// command line is taken even if hidden), or behind a folder symlink (which the walk does not follow).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace xsearch::pipeline {

std::vector<std::string> normalize_roots(const std::vector<std::filesystem::path>& roots, bool include_hidden);

// The root of `roots` that holds `path` most closely ("" when none does).
std::string root_of(const std::string& path, const std::vector<std::string>& roots);

}  // namespace xsearch::pipeline
