// Content fingerprints of video files (issue 15): a file changed in place without changing its size must
// get another fingerprint wherever the fingerprint reads (first, middle and last megabyte), so that a
// re-ingest recognises it as changed rather than as the same file touched or moved.
#include "helpers.hpp"
#include "xsearch/fingerprint.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

TEST_CASE("a file changed in place without changing its size gets another fingerprint", "[index]") {
  test::TempDir tmp;
  // 5 MB of varied bytes: first, middle and last megabyte do not overlap.
  std::string bytes(5 << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  const fs::path path = tmp / "v.mp4";
  test::write_file(path, bytes);
  const std::string original = file_fingerprint(path);
  CHECK(file_fingerprint(path) == original);  // a pure function of the content
  for (const std::size_t at : {std::size_t{0}, bytes.size() / 2, bytes.size() - 1}) {
    std::string changed = bytes;
    changed[at] = static_cast<char>(changed[at] ^ 0x5a);
    test::write_file(path, changed);
    INFO("byte changed at " << at);
    CHECK(fs::file_size(path) == bytes.size());
    CHECK(file_fingerprint(path) != original);
  }
  // Another size with the same sampled bytes is another file too.
  test::write_file(path, bytes + "x");
  CHECK(file_fingerprint(path) != original);
}
