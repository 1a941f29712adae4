// The approximate index of a big library: a Lists file and the ListsAdd file of the clips added since
// (list_file.hpp), written from the database and searched with an exact re-score from it.
//
// Writing: the first build trains the centroids (k-means on a sample) and places every clip; later
// ingests assign only the clips they added and rewrite only the added-clips file, until the additions
// reach a quarter of the main file, when both are merged into a new main file (a sequential copy of the
// codes, no training and no re-reading of the library). Deleted clips are skipped at search time
// (removed_clips) and dropped by the next merge. `xsearch reindex` trains anew.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "list_file.hpp"
#include "db/database.hpp"

namespace xsearch {

// Lists for a library of `clips`: about 4 sqrt(clips), at most 4096 (reached near 1M clips; more lists
// would cost more k-means and assignment at build time without making a search read less, since a search
// visits a fixed share of the lists).
int64_t lists_for(int64_t clips);
// Lists a search visits: one in 32, at least 16.
int64_t probes_for(int64_t lists);

struct ListIndex {
  std::unique_ptr<ListFile> main;   // kind Lists
  std::unique_ptr<ListFile> added;  // kind ListsAdd over exactly that main file, or none
  // The pair as one index: main's identity and centroids, the newest generation and largest id, both counts.
  IndexHeader combined() const;
  // Neither file changed nor was cut short since it was mapped.
  bool intact() const { return main->intact() && (!added || added->intact()); }
};

// The added-clips file beside the index file (LIBRARY.index-add).
std::filesystem::path added_lists_path(const std::filesystem::path& index);

// Opens and checks a lists file of either kind: nullptr when absent; xsearch::Error naming it when damaged.
std::unique_ptr<ListFile> open_list_file(const std::filesystem::path& path);
// The added-clips file for `main`, when there is one that adds to that very file (its build id and
// largest id) at a generation not older than main's nor newer than `generation`; else nullptr.
std::unique_ptr<ListFile> open_added_lists(const std::filesystem::path& index, const ListFile& main, int64_t generation);

struct ListsWritten {
  bool main_rewritten = false;  // a new main file (the added-clips file is gone and removed_clips may be cleared)
  int64_t max_id = 0;           // the largest clip id in the files
};

// Brings the index files at `index` up to the clips of `c` (inside the caller's read transaction: one
// snapshot). `identity` gives the library's uuid, the generation and dim; `clips` is the library's clip
// count and `dead` the clips of `previous` deleted since. `previous` (may be null) is this library's
// current pair; without it every clip is read and the centroids trained.
ListsWritten write_lists(db::Connection& c, const std::filesystem::path& index, const IndexHeader& identity, const ListIndex* previous,
                         int64_t clips, int64_t dead, const std::function<bool()>& cancelled);

// The k best clips for `query`: the best shortlist from the visited lists of both files (clip ids in
// `skip` left out), each re-scored exactly with its stored embedding (rows gone from the database are
// dropped), best first; equal scores by id.
std::vector<std::pair<int64_t, float>> search_lists(db::Connection& c, const ListIndex& index, const float* query, int64_t k,
                                                    const std::unordered_set<int64_t>& skip);

// Every stored embedding with its clip id above `after`, in id order, appended to `ids` and `vectors`
// (a wrong size is an error naming the clip); `cancelled` (may be empty) is asked every chunk of rows,
// and IndexWriteCancelled names `index`.
void read_embeddings(db::Connection& c, int64_t dim, int64_t after, std::vector<int64_t>& ids, std::vector<float>& vectors,
                     const std::function<bool()>& cancelled, const std::filesystem::path& index);

// Exact inner product of a stored embedding blob with `query` (accumulated in double, as every exact
// score of the library is).
float exact_score(const float* embedding, const float* query, int64_t dim);

}  // namespace xsearch
