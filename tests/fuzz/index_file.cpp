// Fuzz target: a library index file (index/vectors/index_header.cpp, exact_file.cpp, list_file.cpp):
// the header is parsed against the file's size, and an exact-kind or lists-kind file that passes is
// memory-mapped and searched (a lists file also scans every list it has). A header that
// parses must describe arrays inside the file; a file that maps must be searchable for any k and return at
// most k hits with ids from the file. Bad input must end in xsearch::Error.
#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "vectors/exact_file.hpp"
#include "fuzz_util.hpp"
#include "vectors/index_file_reader.hpp"
#include "vectors/index_header.hpp"
#include "vectors/list_file.hpp"
#include "xsearch/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = xsearch::parse_index_header(data, size, size);
    if (header.count < 0 || header.dim <= 0) __builtin_trap();
    if (header.kind == xsearch::IndexKind::Lists || header.kind == xsearch::IndexKind::ListsAdd) {
      xsearch::IndexHeader layout = header;
      uint64_t total = 0;
      if (!xsearch::lists_file_layout(layout, total) || total != size) __builtin_trap();  // exactly as long as its arrays
      const auto path = fuzz::write_file("library.index", data, size);
      // Opened as the library opens it (index_file_reader.hpp): the same header, read back from the file.
      const auto opened = xsearch::open_index_file(path);
      if (!opened) return 0;  // the scratch file could not be written: not the code under test
      if (opened->size() != size || opened->header().count != header.count) __builtin_trap();
      const std::unique_ptr<xsearch::ListFile> file = xsearch::ListFile::map(path, opened->fd(), opened->header(), size);
      const std::vector<float> query(static_cast<std::size_t>(header.dim), 0.5f);
      std::vector<int64_t> every(static_cast<std::size_t>(header.nlist));
      for (int64_t l = 0; l < header.nlist; ++l) every[static_cast<std::size_t>(l)] = l;
      const auto best = file->best_lists(query.data(), 3);
      if (header.kind == xsearch::IndexKind::ListsAdd ? !best.empty() : static_cast<int64_t>(best.size()) != std::min<int64_t>(3, header.nlist))
        __builtin_trap();
      xsearch::Shortlist shortlist(4);
      file->scan(query.data(), every, {}, shortlist);
      const auto hits = shortlist.take();
      if (static_cast<int64_t>(hits.size()) != std::min<int64_t>(4, header.count)) __builtin_trap();
      return 0;
    }
    if (header.kind != xsearch::IndexKind::Exact) return 0;
    uint64_t ids_offset = 0, vectors_offset = 0, total = 0;
    if (!xsearch::exact_file_layout(header.count, header.dim, ids_offset, vectors_offset, total) || total != size)
      __builtin_trap();  // an exact file is exactly as long as its arrays
    const auto path = fuzz::write_file("library.index", data, size);
    const auto opened = xsearch::open_index_file(path);
    if (!opened) return 0;
    if (opened->size() != size || opened->header().count != header.count) __builtin_trap();
    const auto file = xsearch::ExactFile::map(path, opened->fd(), opened->header(), size);
    std::set<int64_t> ids;
    for (int64_t i = 0; i < header.count; ++i) {
      int64_t id = 0;
      std::memcpy(&id, data + ids_offset + 8 * i, 8);
      ids.insert(id);
    }
    const std::vector<float> query(static_cast<std::size_t>(header.dim), 0.5f);
    for (const int64_t k : {int64_t{0}, int64_t{1}, int64_t{3}, file->size(), file->size() + 1}) {
      const auto hits = file->search(query.data(), k);
      if (static_cast<int64_t>(hits.size()) > std::min(k, file->size())) __builtin_trap();
      for (const auto& [id, score] : hits)
        if (!ids.count(id)) __builtin_trap();
    }
  } catch (const xsearch::Error&) {
  }
  return 0;
}
