// Query benchmark at library scale: builds (once) a library of N clustered clip embeddings, then measures
// in this run: the index build, recall@10 against exact search, the warm search latency, a fresh
// `xsearch query` process with the files in the page cache and from a cold cache (the library's and the
// model's pages dropped with posix_fadvise), its peak memory, the bytes on disk per clip, the time to add
// 1,000 clips (saved as an ingest saves them, then the index brought up to date), and, where it fits in
// memory, FAISS's own IVF-Flat over the same lists fully loaded, as a peer.
//
// The vectors are clustered as clip embeddings are: topics, videos drawn around a topic, clips around
// their video; queries are drawn around a topic (uniform random vectors would flatter every index).
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "vectors/list_index.hpp"
#include "xsearch/library.hpp"
#include "xsearch/pipeline.hpp"

namespace {

// FAISS labels: faiss::Index::idx_t in FAISS 1.7.3, faiss::idx_t in 1.11 (Index::idx_t is gone): the type
// of Index::ntotal in both.
using faiss_idx_t = decltype(faiss::Index::ntotal);

using clock_type = std::chrono::steady_clock;
constexpr int kDim = 512;
constexpr int kClipsPerVideo = 100;  // a library of 7-minute videos cut into 4-second clips

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void normalise(std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(s));
}

// `base` plus Gaussian noise of the given norm (on average), normalised.
std::vector<float> around(const std::vector<float>& base, float spread, std::mt19937& rng) {
  std::normal_distribution<float> n(0.0f, spread / std::sqrt(static_cast<float>(kDim)));
  std::vector<float> v(base);
  for (float& x : v) x += n(rng);
  normalise(v);
  return v;
}

struct Generator {
  std::vector<std::vector<float>> topics;
  explicit Generator(int64_t clips) {
    std::mt19937 rng(7);
    const int64_t count = std::max<int64_t>(64, clips / 2000);  // 20 videos per topic
    const std::vector<float> zero(kDim, 0.0f);
    for (int64_t t = 0; t < count; ++t) topics.push_back(around(zero, 1.0f, rng));
  }
  // The clips of video v (deterministic: the same video gives the same vectors in every run).
  std::vector<std::vector<float>> video(int64_t v, int clips) const {
    std::mt19937 rng(static_cast<uint32_t>(1000003 * v + 17));
    const auto& topic = topics[static_cast<std::size_t>(rng() % topics.size())];
    const auto centre = around(topic, 1.0f, rng);
    std::vector<std::vector<float>> out;
    for (int c = 0; c < clips; ++c) out.push_back(around(centre, 0.6f, rng));
    return out;
  }
  std::vector<float> query(std::mt19937& rng) const { return around(topics[rng() % topics.size()], 1.2f, rng); }
};

uint64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Drops a file's pages from the page cache (clean pages: no root needed).
void drop_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// Runs a command; returns its wall time and its peak RSS (MB).
std::pair<double, long> timed_process(const std::string& cmd) {
  const auto t0 = clock_type::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  rusage u{};
  ::wait4(pid, &status, 0, &u);
  const double wall = seconds_since(t0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::fprintf(stderr, "command failed: %s\n", cmd.c_str());
  return {wall, u.ru_maxrss / 1024};
}

void save_videos(xsearch::Library& lib, const Generator& gen, int64_t first_video, int64_t clips, const std::string& prefix) {
  for (int64_t v = first_video; (v - first_video) * kClipsPerVideo < clips; ++v) {
    const int n = static_cast<int>(std::min<int64_t>(kClipsPerVideo, clips - (v - first_video) * kClipsPerVideo));
    std::vector<xsearch::ClipData> list;
    auto vectors = gen.video(v, n);
    for (int c = 0; c < n; ++c) list.push_back({c * 4.0, c * 4.0 + 4, std::move(vectors[static_cast<std::size_t>(c)]), {}});
    xsearch::VideoRecord r;
    r.path = prefix + std::to_string(v) + ".mp4";
    r.fingerprint = r.path;
    lib.save_video(r, list);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s XSEARCH_BINARY MODEL_DIR DB CLIPS\n", argv[0]);
    return 2;
  }
  const std::string binary = argv[1], model_dir = argv[2], db = argv[3];
  const int64_t clips = std::atoll(argv[4]);
  const Generator gen(clips);
  const std::string index = std::filesystem::path(db).replace_extension(".index").string();
  if (!std::filesystem::exists(db)) {
    auto t0 = clock_type::now();
    xsearch::Library lib = xsearch::Library::open(db, true);
    lib.claim_model(xsearch::model_identity(model_dir, kDim));
    save_videos(lib, gen, 0, clips, "/videos/");
    const double insert = seconds_since(t0);
    t0 = clock_type::now();
    lib.rebuild_index();
    std::printf("built: %lld clips, insert %.1f s, index build %.1f s\n", static_cast<long long>(clips), insert, seconds_since(t0));
  }
  const uint64_t db_bytes = file_bytes(db) + file_bytes(db + "-wal"), index_bytes = file_bytes(index) + file_bytes(index + "-add");

  // Warm search and recall@10 against an exact scan of every vector (regenerated: the same generator).
  xsearch::Library lib = xsearch::Library::open(db, false);
  std::mt19937 rng(99);
  const int queries = 20;
  std::vector<std::vector<float>> qs;
  for (int q = 0; q < queries; ++q) qs.push_back(gen.query(rng));
  lib.search(qs[0], 10);  // maps the index
  std::vector<double> warm;
  std::vector<std::vector<std::pair<int64_t, float>>> got;
  for (int round = 0; round < 3; ++round)
    for (const auto& q : qs) {
      const auto t0 = clock_type::now();
      auto hits = lib.search(q, 10);
      warm.push_back(seconds_since(t0));
      if (round == 0) got.push_back(std::move(hits));
    }
  std::vector<std::vector<std::pair<float, int64_t>>> exact(queries);
  for (int64_t v = 0; v * kClipsPerVideo < clips; ++v) {
    const auto vectors = gen.video(v, static_cast<int>(std::min<int64_t>(kClipsPerVideo, clips - v * kClipsPerVideo)));
    for (std::size_t c = 0; c < vectors.size(); ++c) {
      const int64_t id = v * kClipsPerVideo + static_cast<int64_t>(c) + 1;  // ids in insertion order
      for (int q = 0; q < queries; ++q) {
        auto& best = exact[static_cast<std::size_t>(q)];
        const float s = xsearch::exact_score(vectors[c].data(), qs[static_cast<std::size_t>(q)].data(), kDim);
        if (best.size() < 10 || s > best.back().first) {
          best.emplace_back(s, id);
          std::sort(best.begin(), best.end(), std::greater<>());
          if (best.size() > 10) best.pop_back();
        }
      }
    }
  }
  double recall = 0;
  for (int q = 0; q < queries; ++q)
    for (const auto& [score, id] : exact[static_cast<std::size_t>(q)])
      for (const auto& g : got[static_cast<std::size_t>(q)]) recall += g.first == id ? 0.1 / queries : 0;

  // Fresh processes: warm page cache (first run warms), then cold (library and model pages dropped).
  const std::string cmd = binary + " query 'people dancing at a wedding' --db " + db + " --model " + model_dir + " -k 10 >/dev/null";
  std::vector<double> fresh;
  long fresh_rss = 0;
  for (int i = 0; i < 6; ++i) {
    const auto [wall, rss] = timed_process(cmd);
    if (i > 0) fresh.push_back(wall);
    fresh_rss = std::max(fresh_rss, rss);
  }
  for (const std::string& f : {db, db + "-wal", index, index + "-add", model_dir + "/model.safetensors"}) drop_cache(f);
  const auto [cold, cold_rss] = timed_process(cmd);

  // Adding 1,000 clips (10 videos): the saves, then the index work an ingest does; then they are removed.
  double add_save = 0, add_index = 0, remove_index = 0;
  {
    xsearch::Library writer = xsearch::Library::open(db, true);
    auto t0 = clock_type::now();
    save_videos(writer, gen, 1'000'000'000, 1000, "/added/");
    add_save = seconds_since(t0);
    t0 = clock_type::now();
    writer.rebuild_index();
    add_index = seconds_since(t0);
    for (int64_t v = 1'000'000'000; v < 1'000'000'010; ++v) writer.remove_video(writer.find_video("/added/" + std::to_string(v) + ".mp4")->id);
    t0 = clock_type::now();
    writer.rebuild_index();
    remove_index = seconds_since(t0);
  }
  const char* kind = clips > xsearch::Library::exact_search_limit() ? "lists (mapped, float16, exact re-score)" : "exact (mapped)";
  std::printf(
      "clips %lld, %s index: recall@10 %.3f; warm search median %.2f ms; fresh `xsearch query` median %.0f ms (page cache), "
      "%.0f ms (cold), peak RSS %ld MB (cold %ld MB); disk: database %.0f B/clip, index %.0f B/clip; "
      "add 1,000 clips: save %.2f s + index %.2f s (their removal: index %.2f s)\n",
      static_cast<long long>(clips), kind, recall, median(warm) * 1e3, median(fresh) * 1e3, cold * 1e3, fresh_rss, cold_rss,
      static_cast<double>(db_bytes) / static_cast<double>(clips), static_cast<double>(index_bytes) / static_cast<double>(clips), add_save,
      add_index, remove_index);

  // The peer: FAISS IVF-Flat over the same centroids and vectors, written and read back whole as a fresh
  // process would (float32 vectors: 2 KiB per clip in memory). Only where that fits comfortably.
  if (clips > xsearch::Library::exact_search_limit() && clips <= 2'000'000) {
    const auto lists = xsearch::open_list_file(index);
    const int64_t nlist = lists->nlist();
    auto* quantizer = new faiss::IndexFlatIP(kDim);
    quantizer->add(nlist, lists->centroid(0));
    faiss::IndexIVFFlat ivf(quantizer, kDim, static_cast<size_t>(nlist), faiss::METRIC_INNER_PRODUCT);
    ivf.own_fields = true;
    for (int64_t v = 0; v * kClipsPerVideo < clips; v += 100) {
      std::vector<float> block;
      std::vector<faiss_idx_t> ids;
      for (int64_t w = v; w < v + 100 && w * kClipsPerVideo < clips; ++w) {
        const auto vectors = gen.video(w, static_cast<int>(std::min<int64_t>(kClipsPerVideo, clips - w * kClipsPerVideo)));
        for (std::size_t c = 0; c < vectors.size(); ++c) {
          block.insert(block.end(), vectors[c].begin(), vectors[c].end());
          ids.push_back(w * kClipsPerVideo + static_cast<int64_t>(c) + 1);
        }
      }
      ivf.add_with_ids(static_cast<faiss_idx_t>(ids.size()), block.data(), ids.data());
    }
    const std::string peer = db + ".faiss-ivfflat";
    faiss::write_index(&ivf, peer.c_str());
    const auto t0 = clock_type::now();
    std::unique_ptr<faiss::Index> loaded(faiss::read_index(peer.c_str()));
    auto* loaded_ivf = dynamic_cast<faiss::IndexIVFFlat*>(loaded.get());
    loaded_ivf->nprobe = static_cast<size_t>(xsearch::probes_for(nlist));
    std::vector<float> scores(10);
    std::vector<faiss_idx_t> labels(10);
    loaded->search(1, qs[0].data(), 10, scores.data(), labels.data());
    const double load_and_first = seconds_since(t0);
    std::vector<double> peer_warm;
    for (const auto& q : qs) {
      const auto t1 = clock_type::now();
      loaded->search(1, q.data(), 10, scores.data(), labels.data());
      peer_warm.push_back(seconds_since(t1));
    }
    // Ours: a fresh Library (maps the files) and its first search, in this same process.
    const auto t2 = clock_type::now();
    xsearch::Library again = xsearch::Library::open(db, false);
    again.search(qs[0], 10);
    const double ours_first = seconds_since(t2);
    std::printf("peer FAISS IVF-Flat (same lists, float32, %.0f MB file): load + first search %.0f ms vs ours %.1f ms (%.0fx); "
                "warm search median %.2f ms vs ours %.2f ms\n",
                static_cast<double>(file_bytes(peer)) / 1e6, load_and_first * 1e3, ours_first * 1e3, load_and_first / ours_first,
                median(peer_warm) * 1e3, median(warm) * 1e3);
    std::filesystem::remove(peer);
  }
  return 0;
}
