// The safetensors reader and writer, on the fixture files and on hand-made broken files.
#include "helpers.hpp"
#include "xsearch/error.hpp"
#include "xsearch/safetensors.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;

namespace {

// A file with the given header text and `data_bytes` zero bytes of data.
std::string raw_file(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + std::string(data_bytes, '\0');
}

std::string open_error(const std::filesystem::path& p) {
  try {
    SafetensorsFile f(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("safetensors reader lists the fixture inputs with their dtypes and shapes", "[model]") {
  const SafetensorsFile f(fixtures_dir() / "xclip-tiny" / "inputs.safetensors");
  const TensorInfo* ids = f.find("input_ids");
  REQUIRE(ids);
  CHECK(ids->dtype == DType::I64);
  CHECK(ids->shape == std::vector<int64_t>{3, 10});
  CHECK(f.read("input_ids").to_int64()[0] == 510);
  const TensorInfo* px = f.find("pixel_values");
  REQUIRE(px);
  CHECK(px->shape == std::vector<int64_t>{2, 4, 3, 32, 32});
  CHECK(f.find("no_such_tensor") == nullptr);
  CHECK_THROWS_WITH(f.read("no_such_tensor"), Catch::Contains("inputs.safetensors") && Catch::Contains("no_such_tensor"));
}

TEST_CASE("safetensors writer round-trips tensors and metadata", "[model]") {
  test::TempDir tmp;
  const auto p = tmp / "t.safetensors";
  NamedTensors t = {{"b", HostTensor::from_f32({2, 2}, {1.f, -2.f, 3.5f, 1e-8f})},
                    {"a", HostTensor::from_i64({3}, {1, -1, 1LL << 40})},
                    {"s", HostTensor::from_f32({}, {42.f})},
                    {"u", HostTensor::from_u8({2}, {0, 255})}};
  write_safetensors(p, t, {{"format", "pt"}});
  const SafetensorsFile f(p);
  CHECK(f.tensors().size() == 4);
  CHECK(f.tensors()[0].name == "a");  // sorted
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.read("b").to_float() == std::vector<float>{1.f, -2.f, 3.5f, 1e-8f});
  CHECK(f.read("a").to_int64() == std::vector<int64_t>{1, -1, 1LL << 40});
  CHECK(f.read("s").shape.empty());
  CHECK(f.read("s").to_float() == std::vector<float>{42.f});
  CHECK(f.read("u").to_int64() == std::vector<int64_t>{0, 255});
  // Nothing beside it: the writer's temporary file (io/atomic_file.hpp) was renamed into place.
  CHECK(std::distance(std::filesystem::directory_iterator(tmp.path()), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("safetensors reader rejects malformed files with the file and the cause", "[model]") {
  test::TempDir tmp;
  const auto p = tmp / "bad.safetensors";
  SECTION("missing file") { CHECK_THAT(open_error(p), Catch::Contains("bad.safetensors")); }
  SECTION("shorter than the length field") {
    test::write_file(p, "abc");
    CHECK_THAT(open_error(p), Catch::Contains("bad.safetensors: not a safetensors file"));
  }
  SECTION("header length beyond the file") {
    test::write_file(p, std::string("\xff\xff\x00\x00\x00\x00\x00\x00{}", 10));
    CHECK_THAT(open_error(p), Catch::Contains("malformed header"));
  }
  SECTION("huge header length") {
    test::write_file(p, std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10));
    CHECK_THAT(open_error(p), Catch::Contains("malformed header"));
  }
  SECTION("header not an object") {
    test::write_file(p, raw_file("[1,2]", 0));
    CHECK_THAT(open_error(p), Catch::Contains("not a JSON object"));
  }
  SECTION("unknown dtype") {
    test::write_file(p, raw_file(R"({"x":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4));
    CHECK_THAT(open_error(p), Catch::Contains("tensor \"x\"") && Catch::Contains("F7"));
  }
  SECTION("shape and byte range disagree") {
    test::write_file(p, raw_file(R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12));
    CHECK_THAT(open_error(p), Catch::Contains("tensor \"x\"") && Catch::Contains("needs 16 bytes"));
  }
  SECTION("data beyond the end of the file") {
    test::write_file(p, raw_file(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
    CHECK_THAT(open_error(p), Catch::Contains("tensor \"x\"") && Catch::Contains("truncated"));
  }
  SECTION("negative dimension") {
    test::write_file(p, raw_file(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4));
    CHECK_THAT(open_error(p), Catch::Contains("negative"));
  }
  SECTION("overflowing shape") {
    test::write_file(p, raw_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4));
    CHECK_THAT(open_error(p), Catch::Contains("too large"));
  }
  SECTION("overlapping tensors") {
    test::write_file(p, raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
    CHECK_THAT(open_error(p), Catch::Contains("overlap"));
  }
  SECTION("missing data_offsets") {
    test::write_file(p, raw_file(R"({"x":{"dtype":"F32","shape":[2]}})", 8));
    CHECK_THAT(open_error(p), Catch::Contains("data_offsets"));
  }
}
