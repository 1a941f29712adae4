// `xsearch export --embeddings DIR` (xsearch/embeddings_export.hpp): the vectors as .npy, the clips as CSV,
// a standard FAISS index, written into a temporary folder beside DIR and swapped in whole.
#include "xsearch/embeddings_export.hpp"

#include <dirent.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "vectors/list_index.hpp"
#include "xsearch/error.hpp"
#include "xsearch/library.hpp"
#include "xsearch/npy.hpp"

namespace xsearch {

namespace {

namespace fs = std::filesystem;

// FAISS labels: faiss::Index::idx_t in FAISS 1.7.3, faiss::idx_t in 1.11: the type of Index::ntotal in both.
using faiss_idx_t = decltype(faiss::Index::ntotal);

const std::set<std::string> kExportFiles = {"embeddings.npy", "clips.csv", "index.faiss", "meta.json", "README.txt"};
constexpr double kNormTolerance = 1e-3;  // float32 embeddings normalised by the model code are within ~1e-6
constexpr int64_t kAddRows = 65536;      // rows handed to FAISS at once (32 MB at 512 dimensions)

std::string errno_text(int e = errno) { return std::strerror(e); }

// What a JSON document would hold for `s`: invalid UTF-8 bytes become U+FFFD, as in every JSON answer.
std::string utf8_replaced(const std::string& s) {
  return nlohmann::json::parse(nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).get<std::string>();
}

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += digits[c >> 4], out += digits[c & 15];
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);  // round-trips: the stored start and end exactly
  return buf;
}

// The entries of a folder, without . and ..; an error names it.
std::vector<std::string> entries(const fs::path& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) throw Error(dir.string() + ": " + errno_text());
  std::vector<std::string> out;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  return out;
}

// Whether DIR is missing (false), or empty or an earlier export (true); anything else is refused.
bool check_target(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    throw Error(dir.string() + ": " + errno_text());
  }
  if (!S_ISDIR(st.st_mode)) throw Error(dir.string() + ": exists and is not a folder; not replaced (choose a new folder)");
  const auto names = entries(dir);
  if (names.empty()) return true;
  for (const auto& n : names)
    if (!kExportFiles.count(n))
      throw Error(dir.string() + ": holds " + n + ", which is not part of an embeddings export; not replaced (choose a new or empty folder)");
  std::string why = "no meta.json";
  if (std::find(names.begin(), names.end(), "meta.json") != names.end()) {
    FILE* f = std::fopen((dir / "meta.json").c_str(), "rb");
    if (!f) throw Error((dir / "meta.json").string() + ": " + errno_text());
    std::string text;
    char buf[4096];
    for (std::size_t r; (r = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() < (1u << 20);) text.append(buf, r);
    std::fclose(f);
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("format", "") == kEmbeddingsExportFormat) return true;
    why = "its meta.json is not an embeddings export's";
  }
  throw Error(dir.string() + ": not an earlier embeddings export (" + why + "); not replaced (choose a new or empty folder)");
}

// A file written through stdio, flushed to disk when closed; errors name it.
class OutFile {
 public:
  explicit OutFile(fs::path path) : path_(std::move(path)), f_(std::fopen(path_.c_str(), "wb")) {
    if (!f_) throw Error(path_.string() + ": " + errno_text());
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  }
  ~OutFile() {
    if (f_) std::fclose(f_);
  }
  void write(const void* data, std::size_t n) {
    if (n > 0 && std::fwrite(data, 1, n, f_) != n) throw Error(path_.string() + ": " + errno_text());
  }
  void write(const std::string& s) { write(s.data(), s.size()); }
  void seek_start() {
    if (std::fflush(f_) != 0 || std::fseek(f_, 0, SEEK_SET) != 0) throw Error(path_.string() + ": " + errno_text());
  }
  void close() {
    const bool ok = std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0;
    const int e = errno;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!ok || !closed) throw Error(path_.string() + ": " + errno_text(ok ? errno : e));
  }

 private:
  fs::path path_;
  FILE* f_;
};

void fsync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(p.string() + ": " + errno_text());
  const bool ok = ::fsync(fd) == 0;
  const int e = errno;
  ::close(fd);
  if (!ok) throw Error(p.string() + ": " + errno_text(e));
}

// The float32 rows of an .npy file written here, mapped read-only.
class MappedRows {
 public:
  MappedRows(const fs::path& path, int64_t rows, int64_t dim) : bytes_(kNpyHeaderBytes + static_cast<std::size_t>(rows * dim) * sizeof(float)) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path.string() + ": " + errno_text());
    map_ = ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, fd, 0);
    const int e = errno;
    ::close(fd);
    if (map_ == MAP_FAILED) throw Error(path.string() + ": " + errno_text(e));
  }
  ~MappedRows() { ::munmap(map_, bytes_); }
  const float* rows() const { return reinterpret_cast<const float*>(static_cast<const char*>(map_) + kNpyHeaderBytes); }

 private:
  std::size_t bytes_;
  void* map_ = MAP_FAILED;
};

// index.faiss over the exported rows; fills the result's index fields.
void write_faiss(const fs::path& file, const float* rows, const std::vector<int64_t>& ids, int64_t dim, EmbeddingsExport& out) {
  const int64_t n = static_cast<int64_t>(ids.size());
  const std::vector<faiss_idx_t> labels(ids.begin(), ids.end());
  auto add_all = [&](faiss::Index& index) {
    for (int64_t at = 0; at < n; at += kAddRows)
      index.add_with_ids(std::min(kAddRows, n - at), rows + at * dim, labels.data() + at);
  };
  try {
    if (n <= Library::exact_search_limit()) {
      faiss::IndexFlatIP flat(static_cast<int>(dim));
      faiss::IndexIDMap2 map(&flat);
      add_all(map);
      faiss::write_index(&map, file.c_str());
      out.index_kind = "IndexIDMap2(IndexFlatIP)";
    } else {
      // The live index's list count and probes; k-means on up to 64 rows a list, spread over the table. At
      // least 8 rows a list, which binds only where XSEARCH_EXACT_LIMIT is set far below the default (tests).
      const int64_t nlist = std::max<int64_t>(1, std::min(lists_for(n), n / 8));
      faiss::IndexFlatIP quantizer(static_cast<int>(dim));
      faiss::IndexIVFScalarQuantizer ivf(&quantizer, static_cast<std::size_t>(dim), static_cast<std::size_t>(nlist),
                                         faiss::ScalarQuantizer::QT_fp16, faiss::METRIC_INNER_PRODUCT, false);
      const int64_t sample = std::min<int64_t>(n, nlist * 64);
      std::vector<float> training(static_cast<std::size_t>(sample * dim));
      for (int64_t i = 0; i < sample; ++i) {
        const int64_t row = static_cast<int64_t>(static_cast<double>(i) * static_cast<double>(n) / static_cast<double>(sample));
        std::copy_n(rows + row * dim, dim, training.data() + i * dim);
      }
      ivf.train(sample, training.data());
      ivf.nprobe = static_cast<std::size_t>(probes_for(nlist));
      add_all(ivf);
      faiss::write_index(&ivf, file.c_str());
      out.index_kind = "IndexIVFScalarQuantizer(QT_fp16, inner product)";
      out.nlist = nlist;
      out.nprobe = static_cast<int64_t>(ivf.nprobe);
    }
  } catch (const faiss::FaissException& e) {
    throw Error(file.string() + ": FAISS: " + e.what());
  }
}

std::string readme_text(const EmbeddingsExport& e, const fs::path& db) {
  std::string t =
      "Clip embeddings exported by xsearch (`xsearch export --embeddings`) from " + db.string() + ".\n\n" +
      "embeddings.npy  float32, shape (" + std::to_string(e.clips) + ", " + std::to_string(e.dim) +
      "), C order; row i is the clip on data row i of clips.csv.\n"
      "                numpy.load(\"embeddings.npy\")\n"
      "clips.csv       clip_id,video_id,path,start,end,path_hex (RFC 4180, UTF-8). start and end are seconds\n"
      "                in the video. A path whose bytes are not UTF-8 shows U+FFFD in `path`; path_hex then\n"
      "                holds its exact bytes in hex (empty otherwise).\n"
      "index.faiss     " + e.index_kind + " over the same vectors; its labels are the clip ids.\n"
      "                faiss.read_index(\"index.faiss\").search(q, 10) with q a (1, " + std::to_string(e.dim) + ") float32 query\n";
  if (e.nlist > 0) t += "                " + std::to_string(e.nlist) + " lists, nprobe " + std::to_string(e.nprobe) + " (approximate; raise nprobe for recall)\n";
  t += "meta.json       the same facts for programs\n\n"
       "Model: " + e.model + ", " + std::to_string(e.dim) + " dimensions. Scores are inner products: " +
       (e.normalised ? "the vectors have unit L2 norm, so scores are cosine similarities, as `xsearch query` shows them.\n"
                     : "some vectors do NOT have unit L2 norm (see meta.json max_norm_error).\n") +
       "A text's query vector: `xsearch query TEXT --vector-out q.npy` (unit norm, float32, shape (" + std::to_string(e.dim) + ",)).\n";
  return t;
}

}  // namespace

EmbeddingsExport export_embeddings(const fs::path& db, const EmbeddingsExportOptions& o) {
  EmbeddingsExport out;
  // Where the vectors came from, as meta.json and README.txt say it: a file's absolute path, or the server.
  const std::string source = is_shared_library(db.string()) ? "" : fs::absolute(db).lexically_normal().string();
  out.dir = fs::absolute(o.dir).lexically_normal();
  if (out.dir.filename().empty()) out.dir = out.dir.parent_path();
  const Library library = Library::open(db, false);
  const auto model = library.model();
  if (!model) throw Error(library.path().string() + ": the library holds no videos yet (xsearch ingest FOLDER)");
  out.model = model->name;
  out.dim = model->dim;
  out.replaced = check_target(out.dir);

  std::error_code ec;
  fs::create_directories(out.dir.parent_path(), ec);
  if (ec) throw Error(out.dir.parent_path().string() + ": " + ec.message());
  std::string pattern = (out.dir.parent_path() / ("." + out.dir.filename().string() + ".export-XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) throw Error(pattern + ": " + errno_text());
  const fs::path tmp = pattern;
  // mkdtemp makes it 0700; the export is for other programs, so it gets a folder's usual mode.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::chmod(tmp.c_str(), 0777 & ~mask) != 0) {
    const int e = errno;
    ::rmdir(tmp.c_str());
    throw Error(tmp.string() + ": " + errno_text(e));
  }
  struct RemoveTemp {
    fs::path dir;
    ~RemoveTemp() {
      std::error_code ignored;
      if (!dir.empty()) fs::remove_all(dir, ignored);  // this export's own folder, made by mkdtemp above
    }
  } guard{tmp};

  std::vector<int64_t> ids;
  {
    OutFile npy(tmp / "embeddings.npy"), csv(tmp / "clips.csv");
    npy.write(std::string(kNpyHeaderBytes, ' '));  // filled in once the row count is known
    csv.write("clip_id,video_id,path,start,end,path_hex\r\n");
    library.scan_clips([&](const ClipRow& c, const float* v) {
      if (o.keep && !o.keep(c.path)) return;
      ids.push_back(c.id);
      npy.write(v, static_cast<std::size_t>(out.dim) * sizeof(float));
      double norm = 0;
      for (int64_t d = 0; d < out.dim; ++d) norm += static_cast<double>(v[d]) * v[d];
      const double err = std::abs(std::sqrt(norm) - 1.0);
      out.max_norm_error = std::isfinite(err) ? std::max(out.max_norm_error, err) : HUGE_VAL;
      const std::string text = utf8_replaced(c.path);
      csv.write(std::to_string(c.id) + "," + std::to_string(c.video_id) + "," + csv_field(text) + "," + number(c.start) + "," + number(c.end) +
                "," + (text == c.path ? "" : hex(c.path)) + "\r\n");
    });
    out.clips = static_cast<int64_t>(ids.size());
    npy.seek_start();
    npy.write(npy_header({out.clips, out.dim}));
    npy.close();
    csv.close();
  }
  if (out.clips == 0) throw Error(out.dir.string() + ": no clips to export" + (o.keep ? " (none of the videos matches --path)" : ""));
  out.normalised = out.max_norm_error <= kNormTolerance;
  {
    const MappedRows rows(tmp / "embeddings.npy", out.clips, out.dim);
    write_faiss(tmp / "index.faiss", rows.rows(), ids, out.dim, out);
    fsync_path(tmp / "index.faiss");
  }
  nlohmann::ordered_json meta = {
      {"format", kEmbeddingsExportFormat},
      {"version", 1},
      {"library", source.empty() ? library.path().string() : source},
      {"model", {{"name", model->name}, {"fingerprint", model->fingerprint}, {"dim", model->dim}}},
      {"clips", out.clips},
      {"l2_normalised", out.normalised},
      {"max_norm_error", out.max_norm_error},
      {"metric", "inner_product"},
      {"embeddings", {{"file", "embeddings.npy"}, {"dtype", "<f4"}, {"shape", {out.clips, out.dim}}, {"order", "C"}}},
      {"clips_file", {{"file", "clips.csv"}, {"columns", {"clip_id", "video_id", "path", "start", "end", "path_hex"}}}},
      {"index", {{"file", "index.faiss"}, {"kind", out.index_kind}, {"ids", "clip_id"}, {"exact_limit", Library::exact_search_limit()}}},
      {"created_at", static_cast<int64_t>(std::time(nullptr))},
  };
  if (out.nlist > 0) meta["index"]["nlist"] = out.nlist, meta["index"]["nprobe"] = out.nprobe;
  {
    OutFile m(tmp / "meta.json"), r(tmp / "README.txt");
    m.write(meta.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
    r.write(readme_text(out, source.empty() ? library.path() : fs::path(source)));
    m.close();
    r.close();
  }
  fsync_path(tmp);

  // Swap in whole. DIR is checked again: it may have appeared, or changed, since the first look.
  out.replaced = check_target(out.dir);
  if (!out.replaced) {
    if (::rename(tmp.c_str(), out.dir.c_str()) != 0) throw Error(out.dir.string() + ": " + errno_text());
    guard.dir.clear();
  } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.dir.c_str(), RENAME_EXCHANGE) == 0) {
    // The earlier export is now in the temporary folder, which the guard removes.
  } else {
    // A file system without RENAME_EXCHANGE: the earlier export is moved aside first (a moment without DIR).
    const int e = errno;
    if (e != EINVAL && e != ENOSYS && e != EOPNOTSUPP) throw Error(out.dir.string() + ": " + errno_text(e));
    std::string aside = (out.dir.parent_path() / ("." + out.dir.filename().string() + ".old-XXXXXX")).string();
    if (!::mkdtemp(aside.data())) throw Error(aside + ": " + errno_text());
    const fs::path old = fs::path(aside) / "export";
    if (::rename(out.dir.c_str(), old.c_str()) != 0) throw Error(out.dir.string() + ": " + errno_text());
    if (::rename(tmp.c_str(), out.dir.c_str()) != 0) {
      const int e2 = errno;
      ::rename(old.c_str(), out.dir.c_str());  // put the earlier export back
      throw Error(out.dir.string() + ": " + errno_text(e2));
    }
    guard.dir = aside;
  }
  fsync_path(out.dir.parent_path());
  return out;
}

}  // namespace xsearch
