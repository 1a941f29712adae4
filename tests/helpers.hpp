// Shared test helpers: the fixtures folder, temporary folders, and tensor comparison with a tolerance.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "catch_compat.hpp"

#include "xsearch/host_tensor.hpp"

namespace xsearch::test {

namespace fs = std::filesystem;

// The reference fixtures (the repository's tests/fixtures, or $XSEARCH_FIXTURES). A missing folder fails the
// test with a message saying where it was looked for.
inline fs::path fixtures_dir() {
  const char* env = std::getenv("XSEARCH_FIXTURES");
  const fs::path dir = env ? fs::path(env) : fs::path(XSEARCH_FIXTURES);
  if (!fs::exists(dir / "README.md"))
    FAIL("reference fixtures not found at " << dir
                                            << ": the tests read the repository's tests/fixtures "
                                               "(or XSEARCH_FIXTURES set to another copy)");
  return dir;
}

// The device the model tests run on: the CPU, or $XSEARCH_TEST_DEVICE ("cuda" on a GPU machine; float32
// with TF32 off there, so the CPU's tolerances hold).
inline std::string test_device() {
  const char* d = std::getenv("XSEARCH_TEST_DEVICE");
  return d && *d ? d : "cpu";
}

// The commands the tests run (ingest, classify, query --rerank) take their default --device from
// $XSEARCH_DEVICE: set it before any test starts one, so that they run on the test device too, in float32
// (ingest's default on CUDA is float16; the tests' tolerances are float32's, and float16's fidelity has its
// own test in test_model_api.cpp).
inline const bool cli_device_from_test_device = [] {
  if (const char* d = std::getenv("XSEARCH_TEST_DEVICE"); d && *d) {
    ::setenv("XSEARCH_DEVICE", d, 1);
    ::setenv("XSEARCH_DTYPE", "float32", 1);
  }
  return true;
}();

// A fresh folder under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("xsearch-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

struct Closeness {
  bool ok = true;
  double max_abs = 0;
  std::string detail;
};

// |actual - expected| <= atol + rtol * |expected| everywhere, shapes equal.
inline Closeness compare(const HostTensor& actual, const HostTensor& expected, double atol, double rtol) {
  Closeness c;
  if (actual.shape != expected.shape) {
    c.ok = false;
    c.detail = "shape " + actual.shape_string() + " vs expected " + expected.shape_string();
    return c;
  }
  const auto a = actual.to_float();
  const auto e = expected.to_float();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - e[i]);
    if (!(d <= atol + rtol * std::fabs(static_cast<double>(e[i])))) {
      if (c.ok) c.detail = "first mismatch at flat index " + std::to_string(i) + ": " + std::to_string(a[i]) +
                           " vs expected " + std::to_string(e[i]);
      c.ok = false;
    }
    if (std::isnan(d)) c.max_abs = INFINITY;
    c.max_abs = std::max(c.max_abs, d);
  }
  return c;
}

#define XSEARCH_CHECK_CLOSE(name, actual, expected, atol, rtol)                                       \
  do {                                                                                               \
    const auto closeness_ = ::xsearch::test::compare((actual), (expected), (atol), (rtol));          \
    INFO((name) << ": max abs diff " << closeness_.max_abs << " " << closeness_.detail);             \
    CHECK(closeness_.ok);                                                                             \
  } while (0)

}  // namespace xsearch::test

namespace xsearch::test {

// Runs the ffmpeg CLI (quiet, overwrite) with `args`; the test fails if it does.
inline void ffmpeg(const std::string& args) {
  const std::string cmd = "ffmpeg -nostdin -y -loglevel error " + args;
  INFO("command: " << cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

}  // namespace xsearch::test
