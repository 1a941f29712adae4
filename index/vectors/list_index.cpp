#include "list_index.hpp"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <random>

#include "index_file_reader.hpp"
#include "io/half_float.hpp"
#include "xsearch/error.hpp"
#include "xsearch/library.hpp"

namespace xsearch {

namespace {

// FAISS labels: faiss::Index::idx_t in FAISS 1.7.3, faiss::idx_t in 1.11 (Index::idx_t is gone): the type
// of Index::ntotal in both.
using faiss_idx_t = decltype(faiss::Index::ntotal);

// Rows read from the database per step of a build (about 32 MB of 512-value embeddings): the unit of
// assignment and of the questions to `cancelled`.
constexpr int64_t kChunkRows = 16384;
// k-means: 10 iterations on at most 64 clips per list (as FAISS advises for IVF training: more sample
// points change the lists little and cost linearly).
constexpr int kTrainIterations = 10;
constexpr int kSamplePerList = 64;

const float* embedding_of(db::Connection& c, const db::Statement& s, int col, int64_t id, int64_t dim) {
  if (s.blob_bytes(col) != static_cast<int>(dim * static_cast<int64_t>(sizeof(float))))
    throw Error(c.path() + ": clip " + std::to_string(id) + " has an embedding of the wrong size");
  return static_cast<const float*>(s.blob(col));
}

void check(const std::function<bool()>& cancelled, const std::filesystem::path& index) {
  if (cancelled && cancelled()) throw IndexWriteCancelled(index.string() + ": index write cancelled");
}

uint64_t new_build_id() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(::getpid());
}

void append_half(std::vector<uint16_t>& out, const float* v, int64_t dim) {
  for (int64_t d = 0; d < dim; ++d) out.push_back(float_to_half(v[d]));
}

// The nearest centroid (inner product) of each of `n` vectors: FAISS's flat search (one BLAS product
// per block).
std::vector<int64_t> assign(const faiss::IndexFlatIP& centroids, const float* vectors, int64_t n) {
  std::vector<float> scores(static_cast<std::size_t>(n));
  std::vector<faiss_idx_t> labels(static_cast<std::size_t>(n));
  if (n > 0) centroids.search(n, vectors, 1, scores.data(), labels.data());
  // FAISS answers -1 for a vector that scores NaN everywhere (a non-finite embedding): list 0 holds it,
  // and the exact re-score keeps it out of every result.
  for (auto& l : labels)
    if (l < 0 || l >= centroids.ntotal) l = 0;
  return {labels.begin(), labels.end()};
}

}  // namespace

void read_embeddings(db::Connection& c, int64_t dim, int64_t after, std::vector<int64_t>& ids, std::vector<float>& vectors,
                     const std::function<bool()>& cancelled, const std::filesystem::path& index) {
  auto s = c.prepare("SELECT id, embedding FROM clips WHERE id > ? ORDER BY id");
  s.bind(1, after);
  while (s.step()) {
    const int64_t id = s.int64(0);
    const float* v = embedding_of(c, s, 1, id, dim);
    ids.push_back(id);
    vectors.insert(vectors.end(), v, v + dim);
    if (ids.size() % kChunkRows == 0) check(cancelled, index);
  }
}

namespace {

// Trains `nlist` centroids on up to nlist x 64 clips spread evenly over the id range (read in id order:
// the database pages are visited forward once).
std::vector<float> train_centroids(db::Connection& c, int64_t dim, int64_t nlist, int64_t clips, const std::function<bool()>& cancelled,
                                   const std::filesystem::path& index) {
  const int64_t want = std::min<int64_t>(clips, nlist * kSamplePerList);
  // One aggregate per statement: SQLite answers a lone min() or max() of the rowid from the b-tree's edge.
  const int64_t lo = db::single_int(c, "SELECT coalesce(min(id), 0) FROM clips");
  const int64_t hi = db::single_int(c, "SELECT coalesce(max(id), 0) FROM clips");
  std::vector<float> sample;
  sample.reserve(static_cast<std::size_t>(want * dim));
  int64_t taken = 0;
  if (want >= clips) {
    auto s = c.prepare("SELECT id, embedding FROM clips ORDER BY id");
    while (s.step()) {
      const float* v = embedding_of(c, s, 1, s.int64(0), dim);
      sample.insert(sample.end(), v, v + dim);
      ++taken;
    }
  } else if (c.backend() == db::Backend::Postgres) {
    // On a server, one query: a Bernoulli sample of the rows (a point query per sample row would cost a
    // round trip each).
    const double percent = std::min(100.0, 100.0 * 1.2 * static_cast<double>(want) / static_cast<double>(clips));
    auto s = c.prepare("SELECT id, embedding FROM clips TABLESAMPLE BERNOULLI (" + std::to_string(percent) + ") REPEATABLE (1234)");
    while (s.step() && taken < want) {
      const float* v = embedding_of(c, s, 1, s.int64(0), dim);
      sample.insert(sample.end(), v, v + dim);
      ++taken;
    }
    s.reset();
  } else {
    auto s = c.prepare("SELECT id, embedding FROM clips WHERE id >= ? ORDER BY id LIMIT 1");
    int64_t last = 0;
    for (int64_t i = 0; i < want; ++i) {
      const int64_t target = lo + static_cast<int64_t>(static_cast<double>(hi - lo + 1) * static_cast<double>(i) / static_cast<double>(want));
      s.bind(1, std::max(target, last + 1));
      if (s.step()) {
        last = s.int64(0);
        const float* v = embedding_of(c, s, 1, last, dim);
        sample.insert(sample.end(), v, v + dim);
        ++taken;
      }
      s.reset();
      if (i % kChunkRows == 0) check(cancelled, index);
    }
  }
  // Ids with gaps can give fewer sample points than asked; k-means needs at least one per list.
  nlist = std::min(nlist, taken);
  faiss::ClusteringParameters cp;
  cp.niter = kTrainIterations;
  cp.max_points_per_centroid = kSamplePerList;
  cp.spherical = true;  // unit centroids for inner-product lists, as the embeddings are
  cp.seed = 1234;       // the same library gives the same lists
  cp.min_points_per_centroid = 1;  // a small library has few points per list: fine, and no warning on stderr
  faiss::Clustering clustering(static_cast<int>(dim), static_cast<int>(nlist), cp);
  faiss::IndexFlatIP scratch(static_cast<int>(dim));
  clustering.train(taken, sample.data(), scratch);
  return clustering.centroids;
}

// Offsets (nlist + 1) of lists of the given sizes.
std::vector<uint64_t> offsets_of(const std::vector<uint64_t>& sizes) {
  std::vector<uint64_t> offsets(sizes.size() + 1, 0);
  for (std::size_t l = 0; l < sizes.size(); ++l) offsets[l + 1] = offsets[l] + sizes[l];
  return offsets;
}

// First build: train, assign every clip (pass 1), then place every code at its list position (pass 2,
// the same rows again in the same snapshot). Memory: the ids and lists of all clips, and one chunk.
ListsWritten build_lists(db::Connection& c, const std::filesystem::path& index, IndexHeader h, int64_t clips,
                         const std::function<bool()>& cancelled) {
  const int64_t dim = h.dim;
  const std::vector<float> centroids = train_centroids(c, dim, lists_for(clips), clips, cancelled, index);
  const int64_t nlist = static_cast<int64_t>(centroids.size()) / dim;
  if (nlist <= 0) throw Error(c.path() + ": no clips to build the index from");
  check(cancelled, index);
  faiss::IndexFlatIP quantizer(static_cast<int>(dim));
  quantizer.add(nlist, centroids.data());

  std::vector<int64_t> ids, lists;
  ids.reserve(static_cast<std::size_t>(clips));
  lists.reserve(static_cast<std::size_t>(clips));
  std::vector<float> chunk;
  auto flush = [&] {
    const auto got = assign(quantizer, chunk.data(), static_cast<int64_t>(chunk.size()) / dim);
    lists.insert(lists.end(), got.begin(), got.end());
    chunk.clear();
    check(cancelled, index);
  };
  {
    auto s = c.prepare("SELECT id, embedding FROM clips ORDER BY id");
    while (s.step()) {
      const int64_t id = s.int64(0);
      const float* v = embedding_of(c, s, 1, id, dim);
      ids.push_back(id);
      chunk.insert(chunk.end(), v, v + dim);
      if (static_cast<int64_t>(chunk.size()) >= kChunkRows * dim) flush();
    }
    flush();
  }
  std::vector<uint64_t> sizes(static_cast<std::size_t>(nlist), 0);
  for (const int64_t l : lists) ++sizes[static_cast<std::size_t>(l)];
  const std::vector<uint64_t> offsets = offsets_of(sizes);
  std::vector<uint64_t> cursor(offsets.begin(), offsets.end() - 1);
  std::vector<int64_t> position(ids.size()), ids_by_list(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    position[i] = static_cast<int64_t>(cursor[static_cast<std::size_t>(lists[i])]++);
    ids_by_list[static_cast<std::size_t>(position[i])] = ids[i];
  }
  lists.clear();
  lists.shrink_to_fit();

  h.kind = IndexKind::Lists;
  h.build_id = new_build_id();
  h.trained_count = clips;
  ListFileWriter out(index, h, centroids, offsets, ids_by_list, cancelled);
  {
    auto s = c.prepare("SELECT id, embedding FROM clips ORDER BY id");
    std::vector<uint16_t> code;
    std::size_t i = 0;
    while (s.step()) {
      const int64_t id = s.int64(0);
      if (i >= ids.size() || ids[i] != id) throw Error(c.path() + ": the clips changed while the index was built");
      code.clear();
      append_half(code, embedding_of(c, s, 1, id, dim), dim);
      out.write_codes_at(position[i], code.data(), 1);
      if (++i % kChunkRows == 0) check(cancelled, index);
    }
    if (i != ids.size()) throw Error(c.path() + ": the clips changed while the index was built");
  }
  out.commit();
  ListsWritten w;
  w.main_rewritten = true;
  w.max_id = ids.empty() ? 0 : ids.back();
  return w;
}

// The clips of the files that are no longer in the database: removed_clips says which, checked against
// the count; when it does not account for all of them (deletions older than that table), each id is looked up.
std::unordered_set<int64_t> dead_ids(db::Connection& c, const ListIndex& files, int64_t dead) {
  std::unordered_set<int64_t> out;
  if (dead <= 0) return out;
  const int64_t max_id = files.combined().max_id;
  auto s = c.prepare("SELECT id FROM removed_clips WHERE id <= ?");
  s.bind(1, max_id);
  while (s.step()) out.insert(s.int64(0));
  int64_t in_files = 0;
  for (const ListFile* f : {files.main.get(), files.added.get()}) {
    if (!f) continue;
    for (int64_t l = 0; l < f->nlist(); ++l)
      for (int64_t i = 0; i < f->list_size(l); ++i) in_files += out.count(f->list_ids(l)[i]) ? 1 : 0;
  }
  if (in_files == dead) return out;
  out.clear();
  auto exists = c.prepare("SELECT 1 FROM clips WHERE id = ?");
  for (const ListFile* f : {files.main.get(), files.added.get()}) {
    if (!f) continue;
    for (int64_t l = 0; l < f->nlist(); ++l)
      for (int64_t i = 0; i < f->list_size(l); ++i) {
        exists.bind(1, f->list_ids(l)[i]);
        if (!exists.step()) out.insert(f->list_ids(l)[i]);
        exists.reset();
      }
  }
  return out;
}

}  // namespace

int64_t lists_for(int64_t clips) {
  return std::clamp<int64_t>(static_cast<int64_t>(4 * std::sqrt(static_cast<double>(std::max<int64_t>(clips, 0)))), 16, 4096);
}

int64_t probes_for(int64_t lists) { return std::clamp<int64_t>(lists / 32, std::min<int64_t>(16, lists), lists); }

IndexHeader ListIndex::combined() const {
  IndexHeader h = main->header();
  if (added) {
    h.generation = added->header().generation;
    h.count += added->header().count;
    h.max_id = added->header().max_id;
  }
  return h;
}

std::filesystem::path added_lists_path(const std::filesystem::path& index) { return index.string() + "-add"; }

std::unique_ptr<ListFile> open_list_file(const std::filesystem::path& path) {
  const std::optional<OpenedIndexFile> f = open_index_file(path);
  if (!f) return nullptr;
  const IndexHeader& h = f->header();
  if (h.kind != IndexKind::Lists && h.kind != IndexKind::ListsAdd) throw Error(path.string() + ": not a lists index file");
  return ListFile::map(path, f->fd(), h, f->size());
}

std::unique_ptr<ListFile> open_added_lists(const std::filesystem::path& index, const ListFile& main, int64_t generation) {
  std::unique_ptr<ListFile> added;
  try {
    added = open_list_file(added_lists_path(index));
  } catch (const Error&) {
    return nullptr;  // damaged: its clips are scanned exactly from the database instead
  }
  if (!added) return nullptr;
  const IndexHeader &a = added->header(), &m = main.header();
  if (a.kind != IndexKind::ListsAdd || a.library_uuid != m.library_uuid || a.dim != m.dim || a.nlist != m.nlist ||
      a.base_build_id != m.build_id || a.base_max_id != m.max_id || a.generation < m.generation || a.generation > generation)
    return nullptr;
  return added;
}

float exact_score(const float* embedding, const float* query, int64_t dim) {
  double dot = 0;
  for (int64_t d = 0; d < dim; ++d) dot += static_cast<double>(embedding[d]) * query[d];
  return static_cast<float>(dot);
}

ListsWritten write_lists(db::Connection& c, const std::filesystem::path& index, const IndexHeader& identity, const ListIndex* previous,
                         int64_t clips, int64_t dead, const std::function<bool()>& cancelled) {
  IndexHeader h;
  h.library_uuid = identity.library_uuid;
  h.generation = identity.generation;
  h.dim = identity.dim;
  if (!previous || !previous->main) return build_lists(c, index, h, clips, cancelled);

  const ListFile& main = *previous->main;
  const ListFile* added = previous->added.get();
  const IndexHeader before = previous->combined();
  const int64_t dim = h.dim, nlist = main.nlist();
  std::vector<int64_t> new_ids;
  std::vector<float> new_vectors;
  read_embeddings(c, dim, before.max_id, new_ids, new_vectors, cancelled, index);
  const int64_t additions = (added ? added->header().count : 0) + static_cast<int64_t>(new_ids.size());
  const bool merge = additions * 4 > main.header().count || dead * 8 > main.header().count;
  ListsWritten w;
  w.max_id = new_ids.empty() ? before.max_id : new_ids.back();
  if (!merge && new_ids.empty()) return w;  // only deletions: skipped at search time until the next merge

  faiss::IndexFlatIP quantizer(static_cast<int>(dim));
  std::vector<float> centroids(main.centroid(0), main.centroid(0) + nlist * dim);
  quantizer.add(nlist, centroids.data());
  const std::vector<int64_t> new_lists = assign(quantizer, new_vectors.data(), static_cast<int64_t>(new_ids.size()));
  check(cancelled, index);
  // The new clips grouped by list, in id order within a list.
  std::vector<std::vector<std::size_t>> new_by_list(static_cast<std::size_t>(nlist));
  for (std::size_t i = 0; i < new_ids.size(); ++i) new_by_list[static_cast<std::size_t>(new_lists[i])].push_back(i);

  const std::unordered_set<int64_t> gone = merge ? dead_ids(c, *previous, dead) : std::unordered_set<int64_t>{};
  std::vector<const ListFile*> sources;
  if (merge) sources.push_back(&main);
  if (added) sources.push_back(added);
  std::vector<uint64_t> sizes(static_cast<std::size_t>(nlist), 0);
  std::vector<int64_t> ids;
  for (int64_t l = 0; l < nlist; ++l) {
    const std::size_t list_start = ids.size();
    for (const ListFile* f : sources)
      for (int64_t i = 0; i < f->list_size(l); ++i)
        if (!gone.count(f->list_ids(l)[i])) ids.push_back(f->list_ids(l)[i]);
    for (const std::size_t i : new_by_list[static_cast<std::size_t>(l)]) ids.push_back(new_ids[i]);
    sizes[static_cast<std::size_t>(l)] = ids.size() - list_start;
  }

  IndexHeader out_header = h;
  out_header.build_id = new_build_id();
  if (merge) {
    out_header.kind = IndexKind::Lists;
    out_header.trained_count = main.header().trained_count;
  } else {
    out_header.kind = IndexKind::ListsAdd;
    out_header.base_build_id = main.header().build_id;
    out_header.base_max_id = main.header().max_id;
  }
  const std::filesystem::path target = merge ? index : added_lists_path(index);
  ListFileWriter out(target, out_header, merge ? centroids : std::vector<float>{}, offsets_of(sizes), ids, cancelled);
  std::vector<uint16_t> codes;
  for (int64_t l = 0; l < nlist; ++l) {
    codes.clear();
    for (const ListFile* f : sources) {
      const int64_t n = f->list_size(l);
      const int64_t* list_ids = f->list_ids(l);
      const uint16_t* list_codes = f->list_codes(l);
      for (int64_t i = 0; i < n; ++i)
        if (!gone.count(list_ids[i])) codes.insert(codes.end(), list_codes + i * dim, list_codes + (i + 1) * dim);
    }
    for (const std::size_t i : new_by_list[static_cast<std::size_t>(l)]) append_half(codes, new_vectors.data() + i * static_cast<std::size_t>(dim), dim);
    out.append_codes(codes.data(), static_cast<int64_t>(codes.size()) / dim);
  }
  out.commit();
  if (merge) {
    // The added clips are in the new main file now; an added-clips file left over would not match its build id.
    std::error_code ec;
    std::filesystem::remove(added_lists_path(index), ec);
  }
  w.main_rewritten = merge;
  return w;
}

std::vector<std::pair<int64_t, float>> search_lists(db::Connection& c, const ListIndex& index, const float* query, int64_t k,
                                                    const std::unordered_set<int64_t>& skip) {
  if (k <= 0) return {};
  const ListFile& main = *index.main;
  const int64_t dim = main.header().dim;
  const std::vector<int64_t> lists = main.best_lists(query, probes_for(main.nlist()));
  // The shortlist: twice k, at least k + 32. float16 codes score within about 1e-3 of the exact value, so
  // the true top k of the visited lists is in it; the exact re-score below then orders it exactly.
  Shortlist shortlist(k + std::max<int64_t>(k, 32));
  main.scan(query, lists, skip, shortlist);
  if (index.added) index.added->scan(query, lists, skip, shortlist);
  auto candidates = shortlist.take();
  std::sort(candidates.begin(), candidates.end());  // by id: the database pages are read forward
  std::vector<std::pair<int64_t, float>> out;
  if (candidates.empty()) return out;
  // The whole shortlist in one statement, its ids in one parameter: one round trip to a server instead of
  // one per clip (a lists library of 50k clips on a local PostgreSQL: a search took 15 to 43 ms at k = 10
  // and 410 to 550 ms at k = 1000 with one query per clip, 4 to 10 and 38 to 50 ms so). On SQLite, where
  // a statement costs no round trip, both forms measured the same (0.8 ms at k = 10 on 100k clips).
  const bool pg = c.backend() == db::Backend::Postgres;
  std::string ids = pg ? "{" : "[";
  for (std::size_t i = 0; i < candidates.size(); ++i) ids += (i ? "," : "") + std::to_string(candidates[i].first);
  ids += pg ? "}" : "]";
  auto s = c.prepare(pg ? "SELECT id, embedding FROM clips WHERE id = ANY(CAST(? AS BIGINT[]))"
                        : "SELECT id, embedding FROM clips WHERE id IN (SELECT value FROM json_each(?))");
  s.bind(1, ids);
  while (s.step()) {
    const int64_t id = s.int64(0);
    const float score = exact_score(embedding_of(c, s, 1, id, dim), query, dim);
    if (std::isfinite(score)) out.emplace_back(id, score);  // NaN would break the order below
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  if (static_cast<int64_t>(out.size()) > k) out.resize(static_cast<std::size_t>(k));
  return out;
}

}  // namespace xsearch
