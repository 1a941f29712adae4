// export --embeddings (issue 24): the .npy holds the stored vectors row for row in the CSV's order, the CSV
// the clip table (awkward paths included), and index.faiss, read by FAISS itself, gives query --json's top
// 10 for a text (exact below the limit, IVF with float16 codes above it). An existing folder that is not an
// earlier export is refused and left as it was.
#include <faiss/IndexIDMap.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/index_io.h>

#include <cstring>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "library_helpers.hpp"
#include "xsearch/fingerprint.hpp"
#include "xsearch/library.hpp"

using namespace xsearch;
using xsearch::test::quote;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

constexpr int kDim = 32;  // the tiny fixture model's projection_dim

struct Npy {
  std::string dict;
  std::vector<float> values;
};

// A .npy file of version 1.0: its header dict and its float32 payload.
Npy read_npy(const fs::path& p) {
  const std::string bytes = test::read_file(p);
  REQUIRE(bytes.size() >= 10);
  REQUIRE(bytes.compare(0, 6, "\x93NUMPY") == 0);
  REQUIRE(bytes[6] == 1);
  REQUIRE(bytes[7] == 0);
  const std::size_t len = static_cast<unsigned char>(bytes[8]) | static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8;
  REQUIRE((10 + len) % 64 == 0);  // the format's alignment
  REQUIRE(bytes.size() >= 10 + len);
  REQUIRE(bytes[10 + len - 1] == '\n');
  Npy n;
  n.dict = bytes.substr(10, len);
  REQUIRE((bytes.size() - 10 - len) % sizeof(float) == 0);
  n.values.resize((bytes.size() - 10 - len) / sizeof(float));
  std::memcpy(n.values.data(), bytes.data() + 10 + len, n.values.size() * sizeof(float));
  return n;
}

// RFC 4180 records (quoted fields may hold commas, doubled quotes and line breaks; CRLF line ends).
std::vector<std::vector<std::string>> read_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row(1);
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') row.back() += c;
      else if (i + 1 < text.size() && text[i + 1] == '"') row.back() += '"', ++i;
      else quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.emplace_back();
    } else if (c == '\n') {
      rows.push_back(row);
      row.assign(1, "");
    } else if (c != '\r') {
      row.back() += c;
    }
  }
  return rows;
}

std::string unhex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

// A library of the tiny model's identity holding random unit vectors (no ties), 3 clips a video, some
// videos under names that CSV must quote and one whose name is not UTF-8.
std::vector<int64_t> make_library(const fs::path& db, const fs::path& videos) {
  std::vector<int64_t> ids;
  Library lib = Library::open(db, true);
  lib.claim_model(model_identity(test::fixtures_dir() / "xclip-tiny-full", kDim));
  std::mt19937 rng(24);
  const std::vector<std::string> odd = {"comma, and more.mp4", "say \"cheese\".mp4", "two\nlines.mp4", "caf\xe9 latin1.mp4"};
  for (int i = 0; i < 40; ++i) {
    VideoRecord v;
    v.path = (videos / (i < static_cast<int>(odd.size()) ? odd[static_cast<std::size_t>(i)] : "v" + std::to_string(i) + ".mp4")).string();
    v.fingerprint = "f" + std::to_string(i);
    std::vector<ClipData> clips;
    for (int c = 0; c < 3; ++c) clips.push_back({c * 4.0, c * 4.0 + 4.0, test::random_unit(rng, kDim), {}});
    const auto saved = lib.save_video(v, clips);
    ids.insert(ids.end(), saved.clip_ids.begin(), saved.clip_ids.end());
  }
  lib.rebuild_index();
  return ids;
}

// query --json's top 10 clip ids for `text` (each clip its own segment: --max-segment below a clip's
// length), and the query vector it searched with (--vector-out).
std::vector<int64_t> query_top10(const fs::path& db, const fs::path& vector_file, const std::string& text) {
  const auto r = xsearch_run("query " + quote(text) + " -k 10 --max-segment 0.5 --no-thumbnails --json --vector-out " +
                             quote(vector_file.string()) + test::db_arg(db) + test::model_arg());
  INFO(r.err);
  REQUIRE(r.status == 0);
  std::vector<int64_t> ids;
  const auto answer = nlohmann::json::parse(r.out);  // a local: a range-for over a temporary's member reads freed memory
  for (const auto& hit : answer["results"]) {
    REQUIRE(hit["clip_ids"].size() == 1);
    ids.push_back(hit["peak_clip_id"].get<int64_t>());
  }
  REQUIRE(ids.size() == 10);
  return ids;
}

std::vector<int64_t> faiss_top10(const fs::path& index_file, const std::vector<float>& q) {
  std::unique_ptr<faiss::Index> index(faiss::read_index(index_file.c_str()));
  REQUIRE(index->d == kDim);
  std::vector<float> scores(10);
  std::vector<decltype(faiss::Index::ntotal)> labels(10);
  index->search(1, q.data(), 10, scores.data(), labels.data());
  return {labels.begin(), labels.end()};
}

}  // namespace

TEST_CASE("export --embeddings writes the stored vectors, the clip table and a FAISS index that reproduces the query's top 10", "[export][cli]") {
  test::TempDir tmp;
  const fs::path db = tmp / "lib.db", out = tmp / "export";
  const std::vector<int64_t> ids = make_library(db, tmp / "videos");
  const auto j = test::run_json("export --embeddings " + quote(out.string()) + test::db_arg(db), 0);
  CHECK(j["clips"] == 120);
  CHECK(j["dim"] == kDim);
  CHECK(j["l2_normalised"] == true);
  CHECK(j["index"] == "IndexIDMap2(IndexFlatIP)");
  CHECK(j["replaced"] == false);

  // The clip table: every clip in id order, paths exact (quoted or in hex where not UTF-8).
  const auto rows = read_csv(test::read_file(out / "clips.csv"));
  REQUIRE(rows.size() == ids.size() + 1);
  CHECK(rows[0] == std::vector<std::string>{"clip_id", "video_id", "path", "start", "end", "path_hex"});
  Library lib = Library::open(db, false);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& row = rows[i + 1];
    REQUIRE(row.size() == 6);
    CHECK(std::stoll(row[0]) == ids[i]);
    const ClipRow stored = lib.clips_by_id({ids[i]}).at(0);
    CHECK(std::stoll(row[1]) == stored.video_id);
    CHECK((row[5].empty() ? row[2] : unhex(row[5])) == stored.path);
    CHECK(std::stod(row[3]) == stored.start);
    CHECK(std::stod(row[4]) == stored.end);
  }
  CHECK(rows[1][2] == (tmp / "videos" / "comma, and more.mp4").string());
  CHECK(rows[10][2] == (tmp / "videos" / "caf\xef\xbf\xbd latin1.mp4").string());  // shown with U+FFFD...
  CHECK(unhex(rows[10][5]) == (tmp / "videos" / "caf\xe9 latin1.mp4").string());  // ...its bytes in path_hex

  // The vectors: (n, dim) little-endian float32 in C order, row i the stored embedding of clip i.
  const Npy npy = read_npy(out / "embeddings.npy");
  CHECK(npy.dict.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (120, 32), }", 0) == 0);
  REQUIRE(npy.values.size() == ids.size() * kDim);
  for (std::size_t i = 0; i < ids.size(); ++i)
    CHECK(std::vector<float>(npy.values.begin() + i * kDim, npy.values.begin() + (i + 1) * kDim) == lib.clip_embedding(ids[i]));

  const auto meta = nlohmann::json::parse(test::read_file(out / "meta.json"));
  CHECK(meta["format"] == "xsearch-embeddings");
  CHECK(meta["model"]["dim"] == kDim);
  CHECK(meta["embeddings"]["shape"] == nlohmann::json::array({120, kDim}));
  CHECK(test::read_file(out / "README.txt").find("numpy.load") != std::string::npos);

  // FAISS's own reader, searched with the query's vector, names query --json's top 10 in its order.
  const std::vector<int64_t> top = query_top10(db, tmp / "q.npy", "a dog on a beach");
  const Npy q = read_npy(tmp / "q.npy");
  CHECK(q.dict.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (32,), }", 0) == 0);
  REQUIRE(q.values.size() == kDim);
  {
    std::unique_ptr<faiss::Index> index(faiss::read_index((out / "index.faiss").c_str()));
    auto* map = dynamic_cast<faiss::IndexIDMap2*>(index.get());
    REQUIRE(map != nullptr);
    CHECK(map->ntotal == 120);
    CHECK(std::vector<int64_t>(map->id_map.begin(), map->id_map.end()) == ids);
  }
  CHECK(faiss_top10(out / "index.faiss", q.values) == top);

  // Above the exact limit: IVF over float16 codes, every list visited at this size (15 lists, nprobe 15).
  const auto r = xsearch_run("export --embeddings " + quote(out.string()) + " --json" + test::db_arg(db), "");
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["replaced"] == true);
  REQUIRE(test::shell_status("XSEARCH_EXACT_LIMIT=100 " + quote(XSEARCH_BINARY) + " export -q --embeddings " + quote(out.string()) + test::db_arg(db)) == 0);
  {
    std::unique_ptr<faiss::Index> index(faiss::read_index((out / "index.faiss").c_str()));
    auto* ivf = dynamic_cast<faiss::IndexIVFScalarQuantizer*>(index.get());
    REQUIRE(ivf != nullptr);
    CHECK(ivf->ntotal == 120);
    CHECK(ivf->metric_type == faiss::METRIC_INNER_PRODUCT);
    CHECK(ivf->sq.qtype == faiss::ScalarQuantizer::QT_fp16);
    CHECK(ivf->nlist == 15);
    CHECK(ivf->nprobe == ivf->nlist);
  }
  CHECK(faiss_top10(out / "index.faiss", q.values) == top);
  // Nothing of the writes left beside the folder.
  for (const auto& e : fs::directory_iterator(tmp.path())) CHECK(e.path().filename().string().find(".export-") == std::string::npos);
}

TEST_CASE("export --embeddings refuses a folder that is not an earlier export and leaves it as it was", "[export][cli]") {
  test::TempDir tmp;
  const fs::path db = tmp / "lib.db";
  make_library(db, tmp / "videos");
  fs::create_directories(tmp / "mine");
  test::write_file(tmp / "mine" / "notes.txt", "keep me");
  auto r = xsearch_run("export --embeddings " + quote((tmp / "mine").string()) + test::db_arg(db));
  CHECK(r.status != 0);
  CHECK(r.err.find("notes.txt") != std::string::npos);
  CHECK(test::read_file(tmp / "mine" / "notes.txt") == "keep me");
  CHECK(!fs::exists(tmp / "mine" / "embeddings.npy"));

  // A folder holding only the export's file names, but whose meta.json is someone else's.
  fs::create_directories(tmp / "look-alike");
  test::write_file(tmp / "look-alike" / "meta.json", "{\"format\": \"other\"}");
  r = xsearch_run("export --embeddings " + quote((tmp / "look-alike").string()) + test::db_arg(db));
  CHECK(r.status != 0);
  CHECK(test::read_file(tmp / "look-alike" / "meta.json") == "{\"format\": \"other\"}");

  test::write_file(tmp / "a-file", "x");
  r = xsearch_run("export --embeddings " + quote((tmp / "a-file").string()) + test::db_arg(db));
  CHECK(r.status != 0);
  CHECK(test::read_file(tmp / "a-file") == "x");
  // An empty folder is taken.
  fs::create_directories(tmp / "empty");
  CHECK(test::run_json("export --embeddings " + quote((tmp / "empty").string()) + test::db_arg(db), 0)["clips"] == 120);
  for (const auto& e : fs::directory_iterator(tmp.path())) CHECK(e.path().filename().string().find(".export-") == std::string::npos);
}
