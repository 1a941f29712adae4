// `xsearch export --embeddings DIR`: the library's clip vectors in files any tool reads, written to a new
// folder that then replaces DIR whole:
//   embeddings.npy  float32 (n, dim), row i = row i of clips.csv
//   clips.csv       clip_id, video_id, path, start, end, path_hex
//   index.faiss     a standard FAISS index over the same vectors, labelled with the clip ids
//   meta.json, README.txt  what the files hold: the model, the dimension, the norms, the index kind
// No FAISS or SQLite types here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace xsearch {

struct EmbeddingsExportOptions {
  std::filesystem::path dir;
  // Keep only the clips of the videos whose path it accepts (e.g. export --path); empty: every clip.
  std::function<bool(const std::string& path)> keep;
};

struct EmbeddingsExport {
  std::filesystem::path dir;  // absolute
  int64_t clips = 0, dim = 0;
  std::string model;          // the library's model name
  std::string index_kind;     // "IndexIDMap2(IndexFlatIP)" or "IndexIVFScalarQuantizer(QT_fp16, inner product)"
  int64_t nlist = 0, nprobe = 0;  // IVF only
  bool normalised = false;    // every vector has unit L2 norm (within 1e-3)
  double max_norm_error = 0;  // the largest |norm - 1|
  bool replaced = false;      // DIR held an earlier export, now replaced
};

// The marker in meta.json that makes a folder an earlier export (which a new export may replace).
constexpr const char* kEmbeddingsExportFormat = "xsearch-embeddings";

// Exports the library at `db`. DIR must be missing, empty, or an earlier export (its meta.json says so and
// it holds only the export's files); anything else is refused and left as it is. The files are written into
// a temporary folder beside DIR, flushed, and swapped in whole: a reader sees the old export or the new
// one. Below Library::exact_search_limit() clips the index is IndexIDMap2 over IndexFlatIP (exact); above
// it an IVF index with float16 codes (k-means lists trained by FAISS, nprobe as the live index visits).
// Errors (xsearch::Error) name the file and the cause; on error the temporary folder is removed.
EmbeddingsExport export_embeddings(const std::filesystem::path& db, const EmbeddingsExportOptions& options);

}  // namespace xsearch
