// EXIF orientation for `query --image` (src/video/exif_orientation.hpp): the eight values against the EXIF
// table on a tiny labelled picture, and a real JPEG carrying the tag (an APP1 segment spliced into a JPEG
// that ffmpeg wrote) decoded by read_still_image upright: exactly the untagged decode, turned.
#include <string>
#include <vector>

#include "catch_compat.hpp"
#include "helpers.hpp"
#include "video/exif_orientation.hpp"
#include "video/still_image.hpp"

using namespace xsearch;
namespace fs = std::filesystem;

namespace {

// A w x h frame whose pixel (x, y) holds the label 10 * y + x in all three channels.
RgbFrame labelled(int w, int h) {
  RgbFrame f;
  f.width = w;
  f.height = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) f.rgb.insert(f.rgb.end(), 3, static_cast<uint8_t>(10 * y + x));
  return f;
}

// The labels row by row.
std::vector<std::vector<int>> rows(const RgbFrame& f) {
  std::vector<std::vector<int>> out(f.height);
  for (int y = 0; y < f.height; ++y)
    for (int x = 0; x < f.width; ++x) out[y].push_back(f.rgb[(static_cast<size_t>(y) * f.width + x) * 3]);
  return out;
}

// A JPEG's bytes with an EXIF APP1 segment holding only Orientation = `value`, right after SOI.
std::string with_exif_orientation(const std::string& jpeg, int value) {
  REQUIRE(jpeg.size() > 2);
  REQUIRE(static_cast<unsigned char>(jpeg[0]) == 0xFF);
  REQUIRE(static_cast<unsigned char>(jpeg[1]) == 0xD8);
  // "Exif\0\0", a big-endian TIFF header whose first IFD (at 8) has one entry: 0x0112, SHORT, 1, value.
  const std::string tiff = std::string("MM\0*\0\0\0\x08", 8) + std::string("\0\x01", 2) +
                           std::string("\x01\x12\0\x03\0\0\0\x01", 8) + std::string(1, '\0') +
                           std::string(1, static_cast<char>(value)) + std::string(2, '\0') + std::string(4, '\0');
  const std::string body = std::string("Exif\0\0", 6) + tiff;
  const size_t length = body.size() + 2;
  const std::string app1 = std::string("\xFF\xE1", 2) + static_cast<char>(length >> 8) + static_cast<char>(length & 0xFF) + body;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

}  // namespace

TEST_CASE("EXIF orientation turns a stored picture upright as the EXIF table says", "[video]") {
  // Stored 3 wide, 2 high:   0  1  2
  //                         10 11 12
  const RgbFrame stored = labelled(3, 2);
  using Rows = std::vector<std::vector<int>>;
  const std::vector<std::pair<int, Rows>> cases = {
      {1, {{0, 1, 2}, {10, 11, 12}}},
      {2, {{2, 1, 0}, {12, 11, 10}}},          // row 0 is the top, column 0 the right: mirrored
      {3, {{12, 11, 10}, {2, 1, 0}}},          // row 0 the bottom, column 0 the right: upside down
      {4, {{10, 11, 12}, {0, 1, 2}}},          // row 0 the bottom, column 0 the left
      {5, {{0, 10}, {1, 11}, {2, 12}}},        // row 0 the left side, column 0 the top
      {6, {{10, 0}, {11, 1}, {12, 2}}},        // row 0 the right side, column 0 the top (a phone held upright)
      {7, {{12, 2}, {11, 1}, {10, 0}}},        // row 0 the right side, column 0 the bottom
      {8, {{2, 12}, {1, 11}, {0, 10}}},        // row 0 the left side, column 0 the bottom
  };
  for (const auto& [value, expected] : cases) {
    INFO("orientation " << value);
    RgbFrame f = stored;
    apply_exif_orientation(f, value);
    CHECK(f.width == static_cast<int>(expected[0].size()));
    CHECK(f.height == static_cast<int>(expected.size()));
    CHECK(f.rgb.size() == stored.rgb.size());
    CHECK(rows(f) == expected);
  }
  // Anything else is "as stored", and so is a malformed tag.
  for (int value : {0, 9, -1}) {
    RgbFrame f = stored;
    apply_exif_orientation(f, value);
    CHECK(rows(f) == rows(stored));
  }
  CHECK(exif_orientation_value("6") == 6);
  CHECK(exif_orientation_value("    6") == 6);  // as FFmpeg 5.1 writes it
  CHECK(exif_orientation_value("9") == 1);
  CHECK(exif_orientation_value("6x") == 1);
  CHECK(exif_orientation_value("") == 1);
  CHECK(exif_orientation_value(nullptr) == 1);
}

TEST_CASE("query --image reads a JPEG's EXIF orientation: a sideways phone photo comes out upright", "[video]") {
  test::TempDir tmp;
  const fs::path plain = tmp / "plain.jpg";
  // A picture that is not symmetric in any direction, wider than high.
  test::ffmpeg("-f lavfi -i testsrc=size=64x40 -frames:v 1 -q:v 2 " + plain.string());
  const std::string jpeg = test::read_file(plain);
  const RgbFrame stored = read_still_image(plain);
  REQUIRE(stored.width == 64);
  REQUIRE(stored.height == 40);
  for (int value : {2, 3, 4, 5, 6, 7, 8}) {  // the mirrored ones too: a display matrix's rotation loses them
    INFO("orientation " << value);
    const fs::path tagged = tmp / ("tagged-" + std::to_string(value) + ".jpg");
    test::write_file(tagged, with_exif_orientation(jpeg, value));
    const RgbFrame upright = read_still_image(tagged);
    RgbFrame expected = stored;  // the same compressed picture, so the same pixels before turning
    apply_exif_orientation(expected, value);
    CHECK(upright.width == expected.width);
    CHECK(upright.height == expected.height);
    CHECK(upright.rgb == expected.rgb);
  }
}
