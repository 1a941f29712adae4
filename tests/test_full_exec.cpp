// How `xsearch` finds `xsearch-full` when /proc is unavailable: never in the current folder by accident.
#include <sys/stat.h>

#include "../cli/full_exec.hpp"
#include "helpers.hpp"
#include "xsearch/error.hpp"

using xsearch::cli::find_full_helper;
namespace fs = std::filesystem;

namespace {

void make_executable(const fs::path& p) {
  xsearch::test::write_file(p, "#!/bin/sh\n");
  ::chmod(p.c_str(), 0755);
}

// Runs `f` with the current folder set to `dir`.
template <class F>
auto in_folder(const fs::path& dir, F f) {
  const fs::path old = fs::current_path();
  fs::current_path(dir);
  struct Back {
    fs::path p;
    ~Back() { fs::current_path(p); }
  } back{old};
  return f();
}

}  // namespace

TEST_CASE("xsearch-full is found beside /proc/self/exe, else beside a path in argv[0]", "[cli]") {
  CHECK(find_full_helper("/opt/x/bin/xsearch", "xsearch", "/usr/bin") == fs::path("/opt/x/bin/xsearch-full"));
  CHECK(find_full_helper("", "/opt/x/bin/xsearch", "/usr/bin") == fs::path("/opt/x/bin/xsearch-full"));
  CHECK(find_full_helper("", "build/xsearch", "/usr/bin") == fs::path("build/xsearch-full"));
}

TEST_CASE("an installed xsearch finds its helpers in libexec/xsearch, and the build tree's beside it first", "[cli]") {
  xsearch::test::TempDir tmp;
  fs::create_directories(tmp / "bin");
  fs::create_directories(tmp / "libexec" / "xsearch");
  make_executable(tmp / "libexec" / "xsearch" / "xsearch-full");
  const fs::path self = tmp / "bin" / "xsearch";
  CHECK(find_full_helper(self, "xsearch", "/usr/bin") == tmp / "libexec" / "xsearch" / "xsearch-full");
  CHECK(find_full_helper("", self.string(), "/usr/bin") == tmp / "libexec" / "xsearch" / "xsearch-full");
  // xsearch-media, itself in libexec/xsearch, finds xsearch-full beside it.
  CHECK(find_full_helper(tmp / "libexec" / "xsearch" / "xsearch-media", "x", "") == tmp / "libexec" / "xsearch" / "xsearch-full");
  make_executable(tmp / "bin" / "xsearch-full");
  CHECK(find_full_helper(self, "xsearch", "/usr/bin") == tmp / "bin" / "xsearch-full");
}

TEST_CASE("without /proc, a bare argv[0] is looked up in PATH and never in the current folder", "[cli]") {
  xsearch::test::TempDir tmp;
  fs::create_directories(tmp / "here");
  fs::create_directories(tmp / "bin");
  make_executable(tmp / "here" / "xsearch-full");  // a planted helper in the current folder
  in_folder(tmp / "here", [&] {
    // Empty and relative PATH entries mean the current folder: skipped.
    CHECK_THROWS_WITH(find_full_helper("", "xsearch", ":.:here:/nonexistent"),
                      Catch::Contains("xsearch-full: not found") && Catch::Contains("PATH"));
    make_executable(tmp / "bin" / "xsearch-full");
    CHECK(find_full_helper("", "xsearch", ".::" + (tmp / "bin").string()) == tmp / "bin" / "xsearch-full");
    return 0;
  });
}

namespace {

// The shared libraries `ldd` lists for a program.
std::string linked_libraries(const fs::path& program) {
  std::string out;
  if (FILE* p = popen(("ldd '" + program.string() + "' 2>&1").c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  return out;
}

}  // namespace

TEST_CASE("xsearch links neither LibTorch nor FFmpeg, and xsearch-media (serve, thumbnails, clips) no LibTorch", "[cli]") {
  const fs::path light = XSEARCH_BINARY;
  const std::string xsearch = linked_libraries(light);
  const std::string media = linked_libraries(light.parent_path() / "xsearch-media");
  REQUIRE_THAT(xsearch, Catch::Contains("libc.so"));
  REQUIRE_THAT(media, Catch::Contains("libavcodec"));
  CHECK_THAT(xsearch, !Catch::Contains("libtorch") && !Catch::Contains("libc10") && !Catch::Contains("libav"));
  CHECK_THAT(media, !Catch::Contains("libtorch") && !Catch::Contains("libc10"));
}
