// Query benchmark: builds (once) a library of N random clip embeddings for a model folder, then measures
// the warm search latency in this process and the latency of a fresh `xsearch query` process (files in
// the page cache), with the query process's peak memory.
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "xsearch/library.hpp"
#include "xsearch/pipeline.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<float> random_unit(std::mt19937& rng, int dim) {
  std::normal_distribution<float> n;
  std::vector<float> v(dim);
  double s = 0;
  for (float& x : v) s += (x = n(rng)) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(s));
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s XSEARCH_BINARY MODEL_DIR DB CLIPS\n", argv[0]);
    return 2;
  }
  const std::string binary = argv[1], model_dir = argv[2], db = argv[3];
  const int64_t clips = std::atoll(argv[4]);
  const int dim = 512;
  std::mt19937 rng(7);
  if (!std::filesystem::exists(db)) {
    const auto t0 = clock_type::now();
    xsearch::Library lib = xsearch::Library::open(db, true);
    lib.claim_model(xsearch::model_identity(model_dir, dim));
    // 100 clips per video, as a library of 7-minute videos would hold.
    for (int64_t v = 0; v * 100 < clips; ++v) {
      std::vector<xsearch::ClipData> list;
      for (int64_t c = 0; c < 100 && v * 100 + c < clips; ++c) list.push_back({c * 4.0, c * 4.0 + 4, random_unit(rng, dim), {}});
      xsearch::VideoRecord r;
      r.path = "/videos/" + std::to_string(v) + ".mp4";
      r.fingerprint = std::to_string(v);
      lib.save_video(r, list);
    }
    const auto t1 = clock_type::now();
    lib.rebuild_index();
    std::printf("built library: %lld clips, insert %.1f s, index %.1f s\n", static_cast<long long>(clips),
                std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(clock_type::now() - t1).count());
  }
  xsearch::Library lib = xsearch::Library::open(db, false);
  const auto q = random_unit(rng, dim);
  auto t0 = clock_type::now();
  lib.search(q, 10);  // loads the index
  const double load = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::vector<double> warm;
  for (int i = 0; i < 50; ++i) {
    const auto query = random_unit(rng, dim);
    t0 = clock_type::now();
    lib.search(query, 80);
    warm.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
  }
  const std::string cmd = binary + " query 'people dancing at a wedding' --db " + db + " --model " + model_dir + " -k 10 >/dev/null";
  std::vector<double> cold;
  for (int i = 0; i < 6; ++i) {
    t0 = clock_type::now();
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "query failed\n");
    if (i > 0) cold.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());  // first run warms the cache
  }
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  std::printf("clips %lld (%s index): index load %.0f ms, warm search (k=80) median %.2f ms, fresh `xsearch query` process median %.0f ms, its peak RSS %ld MB\n",
              static_cast<long long>(clips), clips > xsearch::Library::exact_search_limit() ? "IVF-Flat" : "exact", load * 1e3,
              median(warm) * 1e3, median(cold) * 1e3, u.ru_maxrss / 1024);
  return 0;
}
