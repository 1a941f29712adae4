// Names that become paths in the hub cache, checked before anything is written: a model id and a
// revision (both from the user), and every path a pull writes (it must stay inside the cache).
#pragma once

#include <filesystem>
#include <string>

namespace xsearch::hub {

// ORG/NAME as the hub allows them (letters, digits, '.', '_', '-'; no "--" or ".."; at most 96
// characters), so that models--ORG--NAME is one folder and maps back to the id. Throws xsearch::Error.
void check_model_id(const std::string& id);

// A branch, tag or commit: components of letters, digits, '.', '_', '-', '+', separated by '/' (branch
// names such as refs/pr/1 become sub-folders of refs/, as huggingface_hub stores them); no empty
// component and none starting with '.'; at most 200 characters. Throws xsearch::Error.
void check_revision(const std::string& revision);

// Throws unless `path` lies strictly inside `cache`, both lexically and once the symlinks of its existing
// ancestors are resolved; an existing symlink at `path` itself must resolve inside too.
void check_inside_cache(const std::filesystem::path& cache, const std::filesystem::path& path);

// Writes `text` to `path` (checked to be inside `cache`) with atomic_write (io/atomic_file.hpp).
void write_file_atomically(const std::filesystem::path& cache, const std::filesystem::path& path, const std::string& text);

}  // namespace xsearch::hub
