// The library's vector index of the stored clip embeddings (ids = clip rowids): exact inner product over a
// mapped file below a size limit, mapped IVF lists of float16 codes re-scored exactly above it
// (list_index.hpp; FAISS IVF-Flat files of earlier versions are still read until the next write). The file (library.index beside the database)
// carries the library's uuid, the generation and the clips it was built from (index_header.hpp); only
// writers (ingest, remove, reindex) write it, and a query never serves one of another library or one that
// disagrees with the database: a file older than the database answers together with an exact scan of the
// clips stored since (ids are never reused, so "since" is "above the file's largest id").
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/utils/distances.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "vectors/index_file_reader.hpp"
#include "vectors/index_file_writer.hpp"
#include "io/half_float.hpp"
#include "library_impl.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace {

// FAISS labels: faiss::Index::idx_t in FAISS 1.7.3, faiss::idx_t in 1.11 (Index::idx_t is gone): the type
// of Index::ntotal in both.
using faiss_idx_t = decltype(faiss::Index::ntotal);

// Legacy IVF-Flat files visit one list in 32, at least 16 (as the lists kind does).
int64_t ivf_probes(int64_t lists) { return probes_for(lists); }

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};

// An index file read from disk, checked against nothing yet but its own header and size.
struct LoadedIndex {
  IndexHeader header;
  std::unique_ptr<ExactFile> exact;
  std::unique_ptr<faiss::Index> ivf;
  std::unique_ptr<ListFile> lists;
};

// nullopt when the file is absent; xsearch::Error naming it when it is damaged.
std::optional<LoadedIndex> read_index_file(const std::filesystem::path& p) {
  std::optional<OpenedIndexFile> f = open_index_file(p);
  if (!f) return std::nullopt;
  LoadedIndex out;
  out.header = f->header();
  if (out.header.kind == IndexKind::Exact) {
    out.exact = ExactFile::map(p, f->fd(), out.header, f->size());
    return out;
  }
  if (out.header.kind == IndexKind::Lists) {
    out.lists = ListFile::map(p, f->fd(), out.header, f->size());
    return out;
  }
  if (out.header.kind == IndexKind::ListsAdd) throw Error(p.string() + ": an added-clips file in place of the index file");
  std::unique_ptr<FILE, FileCloser> file(::fdopen(f->fd(), "rb"));
  if (!file) throw Error(p.string() + ": cannot read the index file (" + std::strerror(errno) + ")");
  f->release();  // owned by `file` now
  if (std::fseek(file.get(), static_cast<long>(kIndexHeaderBytes), SEEK_SET) != 0) throw Error(p.string() + ": cannot read the index file");
  try {
    faiss::FileIOReader reader(file.get());
    out.ivf.reset(faiss::read_index(&reader));
  } catch (const std::exception& e) {
    throw Error(p.string() + ": damaged FAISS data (" + e.what() + ")");
  }
  if (!dynamic_cast<faiss::IndexIVFFlat*>(out.ivf.get()) || out.ivf->ntotal != out.header.count || out.ivf->d != out.header.dim)
    throw Error(p.string() + ": the FAISS data disagrees with the index header");
  return out;
}

// FAISS's k-means asks this between iterations; `cancelled` decides.
struct CancelCallback : faiss::InterruptCallback {
  explicit CancelCallback(std::function<bool()> f) : cancelled(std::move(f)) {}
  bool want_interrupt() override { return cancelled && cancelled(); }
  std::function<bool()> cancelled;
};

struct InstalledCallback {
  explicit InstalledCallback(const std::function<bool()>& cancelled) {
    if (cancelled) faiss::InterruptCallback::instance.reset(new CancelCallback(cancelled));
  }
  ~InstalledCallback() { faiss::InterruptCallback::clear_instance(); }
};

std::vector<std::pair<int64_t, float>> search_faiss(faiss::Index& index, const float* query, int64_t k) {
  // FAISS scores a single query with its own generic SIMD loop unless told to use the BLAS (OpenBLAS has
  // AVX2 kernels and threads).
  faiss::distance_compute_blas_threshold = 1;
  if (auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(&index)) {
    ivf->nprobe = static_cast<size_t>(ivf_probes(static_cast<int64_t>(ivf->nlist)));
    ivf->parallel_mode = 1;  // one query: share its lists among the threads
  }
  k = std::min<int64_t>(k, index.ntotal);
  if (k <= 0) return {};
  std::vector<float> scores(static_cast<std::size_t>(k));
  std::vector<faiss_idx_t> labels(static_cast<std::size_t>(k));
  index.search(1, query, k, scores.data(), labels.data());
  std::vector<std::pair<int64_t, float>> out;
  for (int64_t i = 0; i < k; ++i)
    if (labels[i] >= 0) out.emplace_back(labels[i], scores[i]);  // FAISS pads short results with -1
  return out;
}

}  // namespace

int64_t Library::exact_search_limit() {
  if (const char* env = std::getenv("XSEARCH_EXACT_LIMIT"); env && *env) return std::atoll(env);
  return 250000;
}

void Library::Impl::drop_index() {
  exact.reset();
  index.reset();
  lists.reset();
  have_index = false;
}

namespace {

// The file's identity on disk: a file rewritten (renamed over) gets another inode.
std::string file_stamp(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// Both files of the index: the lists kind reads its added-clips file too.
std::string index_stamp(const std::filesystem::path& path) { return file_stamp(path) + "|" + file_stamp(added_lists_path(path)); }

// Loads the index file into `impl` when it is of this library, of a generation not newer than the
// database's and consistent with it; otherwise leaves none and says why in index_note (absence is no news).
// Runs inside the caller's read transaction.
void load_index(Library::Impl& impl, const std::filesystem::path& path, const std::string& uuid, int64_t generation, int64_t dim) {
  impl.drop_index();
  impl.index_stamp = index_stamp(path);
  impl.index_note.clear();
  std::optional<LoadedIndex> loaded;
  try {
    loaded = read_index_file(path);
  } catch (const Error& e) {
    impl.index_note = e.what();
    return;
  }
  if (!loaded) return;
  std::unique_ptr<ListIndex> lists;
  IndexHeader h = loaded->header;
  if (loaded->lists) {
    lists = std::make_unique<ListIndex>();
    lists->added = open_added_lists(path, *loaded->lists, generation);
    lists->main = std::move(loaded->lists);
    h = lists->combined();
  }
  auto reject = [&](const std::string& why) { impl.index_note = path.string() + ": " + why + "; not used"; };
  if (uuid.empty()) return reject("the library was made by an older xsearch (run `xsearch reindex` once to upgrade it)");
  if (h.library_uuid != uuid) return reject("made for another library");
  if (h.dim != dim) return reject("vectors of " + std::to_string(h.dim) + " values, the library's have " + std::to_string(dim));
  if (h.generation > generation) {
    impl.index_stamp.clear();  // judged against an older snapshot than the file: judged again next time
    return reject("newer than the library's database (generation " + std::to_string(h.generation) + " > " + std::to_string(generation) + ")");
  }
  // The clips of the file that still exist cannot be more than the file holds; at the same generation the
  // file ends at the library's last clip, and (except for the lists kind, whose deleted clips stay until the
  // next merge and are skipped by the search) it holds exactly the library's clips.
  const int64_t still = impl.clips_up_to(h.max_id);
  if (still > h.count) return reject("holds " + std::to_string(h.count) + " clips up to id " + std::to_string(h.max_id) + ", the library " + std::to_string(still));
  if (h.generation == generation) {
    auto& c = *impl.conn;
    const int64_t max_id = db::single_int(c, "SELECT coalesce(max(id), 0) FROM clips");
    if (max_id != h.max_id || (!lists && still != h.count))
      return reject("holds " + std::to_string(h.count) + " clips up to id " + std::to_string(h.max_id) + ", the library " +
                    std::to_string(still) + " up to id " + std::to_string(max_id) + " at the same generation");
  }
  impl.header = h;
  impl.exact = std::move(loaded->exact);
  impl.index = std::move(loaded->ivf);
  impl.lists = std::move(lists);
  impl.have_index = true;
}

// The loaded index's files neither changed nor were cut short since they were mapped (mapped_file.hpp);
// FAISS's IVF index is read into memory and cannot change.
bool index_intact(const Library::Impl& impl) {
  if (impl.exact) return impl.exact->intact();
  if (impl.lists) return impl.lists->intact();
  return true;
}

// The ids of deleted clips that an index file up to max_id may still hold.
std::unordered_set<int64_t> removed_clips_up_to(Library::Impl& impl, int64_t max_id) {
  std::unordered_set<int64_t> out;
  if (!impl.has_removed_clips()) return out;
  auto s = impl.conn->prepare("SELECT id FROM removed_clips WHERE id <= ?");
  s.bind(1, max_id);
  while (s.step()) out.insert(s.int64(0));
  return out;
}

}  // namespace

const std::string& Library::index_note() const { return impl_->index_note; }

void Library::rebuild_index(const std::function<bool()>& cancelled, bool from_scratch) {
  // A shared library's index is this machine's cache: any process may refresh it.
  if (!impl_->writable && !impl_->shared) throw Error(impl_->path.string() + ": the index can only be rebuilt by a writer");
  const auto m = model();
  if (!m) return;
  const std::filesystem::path path = index_path(), added_path = added_lists_path(path);
  remove_stale_index_temp_files(path);
  remove_stale_index_temp_files(added_path);
  auto& impl = *impl_;
  auto& c = *impl.conn;
  IndexHeader h;
  h.library_uuid = uuid();
  h.dim = m->dim;
  bool wrote_lists = false;
  ListsWritten written;
  {
    db::ReadTransaction snapshot(c);  // the generation and the clips of one moment
    h.generation = impl.generation();
    const int64_t clips = clip_count();
    // A shared library's cache is refreshed by every query that finds it behind: above a few thousand clips
    // it takes the lists kind, whose refresh costs what was added, not a rewrite of every vector.
    const int64_t limit = impl.shared ? std::min<int64_t>(exact_search_limit(), 5000) : exact_search_limit();
    if (clips > limit) {
      // The lists of this library as a query would use them (same checks), brought up to date.
      std::unique_ptr<ListIndex> previous;
      if (!from_scratch) {
        load_index(impl, path, h.library_uuid, h.generation, m->dim);
        previous = std::move(impl.lists);
      }
      impl.drop_index();
      InstalledCallback interrupt(cancelled);
      try {
        const int64_t dead = previous ? previous->combined().count - impl.clips_up_to(previous->combined().max_id) : 0;
        written = write_lists(c, path, h, previous.get(), clips, dead, cancelled);
        // The previous files changed under the merge (rewritten in place by another program): what was
        // merged from them cannot be trusted; the lists are built again from the database.
        if (previous && !previous->intact()) written = write_lists(c, path, h, nullptr, clips, 0, cancelled);
      } catch (const faiss::FaissException&) {
        if (cancelled && cancelled()) throw IndexWriteCancelled(path.string() + ": index write cancelled");
        throw;
      }
      wrote_lists = true;
    } else {
      impl.drop_index();
      std::vector<int64_t> ids;
      std::vector<float> vectors;
      read_embeddings(c, m->dim, 0, ids, vectors, cancelled, path);
      ExactFile::write(path, h, ids, vectors, cancelled);
      written.max_id = ids.empty() ? 0 : ids.back();
    }
  }
  if (!wrote_lists) {
    std::error_code ec;
    std::filesystem::remove(added_path, ec);  // of the lists written before; would not match the exact file anyway
  }
  // The ids of deleted clips are needed while some index file holds them. Once the files written here hold
  // none (an exact file, or a lists file written whole), they are dropped (the writer lock means no clip
  // was deleted since the snapshot the files were written from): a
  // reader still on the previous files notices the new ones by their stamp at its next query (search()),
  // and its read transaction keeps the rows it started with. Not on a shared library: other machines'
  // caches may still hold the deleted clips (and skip them by these rows).
  if (!impl.shared && impl.has_removed_clips() && (!wrote_lists || written.main_rewritten)) {
    db::Transaction t(c);
    c.exec("DELETE FROM removed_clips");
    t.commit();
  }
  // Serve what was just written (this process may search next).
  db::ReadTransaction snapshot(c);
  load_index(impl, path, h.library_uuid, impl.generation(), m->dim);
}

std::vector<std::pair<int64_t, float>> Library::search(const std::vector<float>& query, int64_t k) {
  const auto m = model();
  if (!m) return {};
  if (static_cast<int64_t>(query.size()) != m->dim)
    throw Error("query vector has " + std::to_string(query.size()) + " values; the library's embeddings have " + std::to_string(m->dim));
  if (k <= 0) return {};
  auto& impl = *impl_;
  auto& c = *impl.conn;
  if (impl.shared) {
    // This machine's cache, refreshed when behind the server: only what changed is fetched (a cache that
    // cannot be written, a read-only folder say, leaves the search to scan the clips since instead).
    int64_t now = 0;
    {
      db::ReadTransaction snapshot(c);
      now = impl.generation();
      if (!impl.have_index || impl.header.generation != now) load_index(impl, index_path(), uuid(), now, m->dim);
    }
    if (!impl.have_index || impl.header.generation != now) {
      try {
        rebuild_index();
      } catch (const Error& e) {
        impl.index_note = e.what();
      }
    }
  }
  db::ReadTransaction snapshot(c);  // the generation, the index's clips and the newer clips of one moment
  const int64_t generation = impl.generation();
  // A file already judged is judged again only when it changed on disk (a query during an ingest keeps the
  // older file it loaded, plus the newer clips, instead of reading it again for every query).
  // A file rewritten in place since it was loaded is loaded again (its map may be cut short).
  // A file replaced since (a reindex keeps the generation) is loaded again: its deleted clips are gone,
  // and so may be the rows that the previous file's readers skipped them by.
  const bool current = impl.have_index && impl.header.generation == generation && index_intact(impl) &&
                       impl.index_stamp == index_stamp(index_path());
  if (!current && (impl.index_stamp.empty() || impl.index_stamp != index_stamp(index_path())))
    load_index(impl, index_path(), uuid(), generation, m->dim);

  std::vector<std::pair<int64_t, float>> found;
  int64_t after = 0;  // clips above this id are not in the index: scanned exactly
  if (impl.have_index) {
    const IndexHeader& h = impl.header;
    after = h.max_id;
    // Clips deleted since the file was written may still be among its hits.
    const int64_t dead = h.count - impl.clips_up_to(h.max_id);
    if (impl.lists) {
      // Deleted clips are skipped while scanning; the exact re-score drops any other row gone.
      found = search_lists(c, *impl.lists, query.data(), k, dead > 0 ? removed_clips_up_to(impl, h.max_id) : std::unordered_set<int64_t>{});
    } else {
      // Ask for that many more, and keep the ones that still exist.
      found = impl.exact ? impl.exact->search(query.data(), k + dead) : search_faiss(*impl.index, query.data(), k + dead);
      if (dead > 0) {
        auto exists = c.prepare("SELECT 1 FROM clips WHERE id = ?");
        std::vector<std::pair<int64_t, float>> alive;
        for (const auto& hit : found) {
          exists.bind(1, hit.first);
          if (exists.step()) alive.push_back(hit);
          exists.reset();
        }
        found = std::move(alive);
      }
    }
    if (!index_intact(impl)) {
      // Rewritten or cut short while it was read: its answer may be zeros or another file's bytes. Answered
      // as without an index file (an exact scan of the stored clips), as for a damaged one; the file is
      // judged again at the next query.
      impl.index_note = index_path().string() + ": changed while it was read; not used";
      impl.drop_index();
      impl.index_stamp.clear();
      found.clear();
      after = 0;
    } else if (impl.header.generation == generation) {
      if (static_cast<int64_t>(found.size()) > k) found.resize(static_cast<std::size_t>(k));
      return found;
    }
  }
  // The clips stored after the index was written (all of them without an index), scored exactly.
  std::vector<int64_t> ids;
  std::vector<float> vectors;
  read_embeddings(c, m->dim, after, ids, vectors, {}, index_path());
  if (!ids.empty()) {
    std::vector<float> scores(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) scores[i] = exact_score(vectors.data() + i * static_cast<std::size_t>(m->dim), query.data(), m->dim);
    const auto fresh = top_k(scores, ids.data(), k);
    found.insert(found.end(), fresh.begin(), fresh.end());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  // A clip once only, whatever a (crafted) index file holds beside the clips stored since.
  std::unordered_set<int64_t> seen;
  found.erase(std::remove_if(found.begin(), found.end(), [&](const auto& hit) { return !seen.insert(hit.first).second; }), found.end());
  if (static_cast<int64_t>(found.size()) > k) found.resize(static_cast<std::size_t>(k));
  return found;
}

std::vector<uint16_t> to_float16(const float* values, std::size_t n) {
  std::vector<uint16_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = float_to_half(values[i]);
  return out;
}

std::vector<float> from_float16(const std::vector<uint16_t>& values) {
  std::vector<float> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = half_to_float(values[i]);
  return out;
}

}  // namespace xsearch
