// The header of a library index file (exact or IVF): which library it belongs to, the generation and the
// clips it was built from, and (for the exact kind) where its arrays lie. Parsing is a pure function of the
// file's first bytes and its size so that a crafted header can be fuzzed and is never trusted: every field
// is checked against the file size with overflow-safe arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace xsearch {

// Exact: ids and float32 vectors. Ivf: FAISS IVF-Flat (written by xsearch before 0.9, still read).
// Lists: IVF lists of float16 codes with their centroids, memory-mapped, re-scored exactly from the
// database (list_file.hpp). ListsAdd: the clips added since a Lists file, in that file's lists.
enum class IndexKind : uint32_t { Exact = 1, Ivf = 2, Lists = 3, ListsAdd = 4 };

struct IndexHeader {
  IndexKind kind = IndexKind::Exact;
  std::string library_uuid;  // meta 'uuid' of the library that wrote it (36 characters)
  int64_t generation = 0;    // meta 'generation' when it was built
  int64_t count = 0;         // vectors in the file
  int64_t dim = 0;           // values per vector
  int64_t max_id = 0;        // the largest clip id in it (0 when empty): later clips are newer than the file
  // Exact kind only: byte offsets of the ids (count int64) and of the vectors (count x dim float32).
  uint64_t ids_offset = 0, vectors_offset = 0;
  // Lists kinds only (stored after the common header, up to kListsHeaderBytes).
  int64_t nlist = 0;            // lists (and centroids, in a Lists file)
  uint64_t build_id = 0;        // random, new for every lists file written
  uint64_t base_build_id = 0;   // ListsAdd: the build_id of the Lists file it adds to
  int64_t base_max_id = 0;      // ListsAdd: that file's max_id (every id here is larger)
  int64_t trained_count = 0;    // Lists: the clips the centroids were trained on (for the next retraining)
  // Lists kinds: byte offsets of the centroids (nlist x dim float32, Lists only), the list offsets
  // (nlist + 1 uint64, in vectors), and as above the ids (count int64) and codes (count x dim float16,
  // at vectors_offset), all grouped by list.
  uint64_t centroids_offset = 0, list_offsets_offset = 0;
};

// Bytes the encoded header takes (the start of the FAISS data for the IVF kind).
constexpr std::size_t kIndexHeaderBytes = 96;
// Bytes the header of the lists kinds takes (the common header and the lists fields).
constexpr std::size_t kListsHeaderBytes = 160;

// The header's bytes for `h` (ids_offset and vectors_offset are derived, not read from `h`).
std::string encode_index_header(const IndexHeader& h);

// Parses and checks the first `size` bytes of an index file of `file_size` bytes. Throws xsearch::Error
// with the cause (without the path: the caller adds it) when the bytes are not a valid header of this
// format or disagree with the file size (an exact file must be exactly as long as its arrays; an IVF file
// must be long enough to hold its vectors).
IndexHeader parse_index_header(const uint8_t* bytes, std::size_t size, uint64_t file_size);

// The offsets and total size of a lists file (kind Lists or ListsAdd) for its count, dim and nlist; false
// on overflow or an impossible nlist.
bool lists_file_layout(IndexHeader& h, uint64_t& total);

// The offsets and total size of an exact file for `count` x `dim`; false on overflow.
bool exact_file_layout(int64_t count, int64_t dim, uint64_t& ids_offset, uint64_t& vectors_offset, uint64_t& total);

}  // namespace xsearch
