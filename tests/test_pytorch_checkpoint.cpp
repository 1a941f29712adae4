// pytorch_model.bin: the fixture's torch.save file reads to exactly the fixture's safetensors, converts once
// to where the README says, and runs the reference forward; crafted files (another global in the pickle, a
// truncated zip, a storage of the wrong size, half-precision views with strides and offsets) give exactly
// the tensors or the clear error they should.
#include <fcntl.h>
#include <sys/stat.h>

#include <ATen/ATen.h>

#include <cstdlib>
#include <cstring>

#include "helpers.hpp"
#include "torch_bin_writer.hpp"
#include "io/half_float.hpp"
#include "xsearch/checkpoint.hpp"
#include "xsearch/dev.hpp"
#include "xsearch/error.hpp"
#include "xsearch/model.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/xclip_torch.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
using xsearch::test::Pickle;
using xsearch::test::write_zip;
namespace fs = std::filesystem;

namespace {

std::string bytes_of(const std::vector<float>& v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }
std::string bytes_of(const std::vector<uint16_t>& v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 2); }

std::string read_error(const fs::path& bin) {
  try {
    read_pytorch_checkpoint(bin);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A model folder with the fixture's config.json and pytorch_model.bin, and nothing else.
fs::path bin_only_model(const fs::path& dir) {
  const auto tiny = fixtures_dir() / "xclip-tiny";
  fs::create_directories(dir);
  fs::copy_file(tiny / "config.json", dir / "config.json");
  fs::copy_file(tiny / "pytorch_model.bin", dir / "pytorch_model.bin");
  return dir;
}

// Every parameter of two loaded models, compared bit for bit.
void check_same_parameters(const Model& a, const Model& b) {
  const auto pa = torch_module(a).named_parameters();
  const auto pb = torch_module(b).named_parameters();
  REQUIRE(pa.size() == pb.size());
  REQUIRE(pa.size() == 151);  // the fixture README's parameter count
  for (const auto& item : pa) {
    INFO("parameter " << item.key());
    CHECK(at::equal(item.value(), pb[item.key()]));
  }
}

ModelOptions cpu() {
  ModelOptions o;
  o.device = "cpu";
  return o;
}

// Sets an environment variable for the scope of a test.
struct ScopedEnv {
  std::string name;
  std::string old;
  bool had;
  ScopedEnv(const std::string& n, const std::string& value) : name(n) {
    const char* v = std::getenv(n.c_str());
    had = v != nullptr;
    if (had) old = v;
    ::setenv(n.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had) ::setenv(name.c_str(), old.c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("the fixture's pytorch_model.bin holds exactly the tensors of its model.safetensors", "[model][checkpoint]") {
  const auto tiny = fixtures_dir() / "xclip-tiny";
  const NamedTensors bin = read_pytorch_checkpoint(tiny / "pytorch_model.bin");
  const SafetensorsFile st(tiny / "model.safetensors");
  std::size_t compared = 0;
  for (const auto& [name, t] : bin) {
    INFO("tensor " << name);
    if (name == "text_model.embeddings.position_ids" || name == "vision_model.embeddings.position_ids") {
      // The buffers older transformers saved: int64 0..n-1, present in the .bin only.
      CHECK(t.dtype == DType::I64);
      CHECK(st.find(name) == nullptr);
      continue;
    }
    const HostTensor want = st.read(name);
    CHECK(t.dtype == want.dtype);
    CHECK(t.shape == want.shape);
    CHECK(t.bytes == want.bytes);  // bit for bit
    ++compared;
  }
  CHECK(compared == st.tensors().size());
  CHECK(bin.size() == st.tensors().size() + 2);
}

TEST_CASE("a folder with only pytorch_model.bin converts once, beside it, and loads the same parameters", "[model][checkpoint]") {
  test::TempDir tmp;
  const auto dir = bin_only_model(tmp / "model");
  const Model from_bin = Model::load(dir, cpu());
  const Model reference = Model::load(fixtures_dir() / "xclip-tiny", cpu());
  check_same_parameters(from_bin, reference);

  // The conversion sits beside the .bin and says where it came from; a second load reuses it untouched.
  const auto converted = dir / "model.safetensors";
  REQUIRE(fs::exists(converted));
  CHECK(model_weights_file(dir) == converted);
  CHECK(SafetensorsFile(converted).metadata().at("xsearch_converted_from") == (dir / "pytorch_model.bin").string());
  struct stat before {}, after {};
  ::stat(converted.c_str(), &before);
  Model::load(dir, cpu());
  ::stat(converted.c_str(), &after);
  CHECK(before.st_ino == after.st_ino);
  CHECK(before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 3);  // config.json, pytorch_model.bin, model.safetensors: no temporary file left

  // A .bin replaced later is converted again (the old conversion is ours, not the folder's own file).
  const auto bin = dir / "pytorch_model.bin";
  const std::string content = test::read_file(bin);
  fs::remove(bin);
  test::write_file(bin, content);
  ::utimensat(AT_FDCWD, bin.c_str(), nullptr, 0);  // now: a new modification time
  ::stat(converted.c_str(), &before);
  model_weights_file(dir);
  ::stat(converted.c_str(), &after);
  CHECK(before.st_ino != after.st_ino);
}

TEST_CASE("dev forward from config.json + pytorch_model.bin gives every reference tensor", "[model][checkpoint]") {
  test::TempDir tmp;
  const auto dir = bin_only_model(tmp / "model");
  const auto tiny = fixtures_dir() / "xclip-tiny";
  dev_forward(dir, tiny / "inputs.safetensors", tmp / "out.safetensors", false);
  const SafetensorsFile expected(tiny / "expected.safetensors");
  const SafetensorsFile actual(tmp / "out.safetensors");
  REQUIRE(expected.tensors().size() >= 20);
  for (const auto& info : expected.tensors()) {
    INFO("tensor " << info.name);
    REQUIRE(actual.find(info.name) != nullptr);
    // test_model_parity.cpp's tolerance (float32 vs the float64 reference; the weights are bit-identical).
    XSEARCH_CHECK_CLOSE(info.name, actual.read(info.name), expected.read(info.name), 1e-4, 1e-4);
  }
}

TEST_CASE("a hub snapshot's conversion goes beside the snapshots, else into the user cache", "[model][checkpoint]") {
  test::TempDir tmp;
  const auto repo = tmp / "hub" / "models--org--tiny";
  const auto snapshot = repo / "snapshots" / "0123abcd";
  fs::create_directories(snapshot);
  fs::create_directories(repo / "blobs");
  fs::copy_file(fixtures_dir() / "xclip-tiny" / "pytorch_model.bin", repo / "blobs" / "b1");
  fs::copy_file(fixtures_dir() / "xclip-tiny" / "config.json", repo / "blobs" / "c1");
  fs::create_symlink("../../blobs/b1", snapshot / "pytorch_model.bin");
  fs::create_symlink("../../blobs/c1", snapshot / "config.json");
  const ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());

  SECTION("beside the snapshots") {
    CHECK(ready_weights_file(snapshot).empty());
    CHECK(model_weights_file(snapshot) == repo / "xsearch" / "0123abcd" / "model.safetensors");
    CHECK(ready_weights_file(snapshot) == repo / "xsearch" / "0123abcd" / "model.safetensors");
    CHECK_FALSE(fs::exists(snapshot / "model.safetensors"));  // the hub's own files are left alone
    CHECK_FALSE(fs::exists(tmp / "cache"));
    check_same_parameters(Model::load(snapshot, cpu()), Model::load(fixtures_dir() / "xclip-tiny", cpu()));
  }
  SECTION("in the user cache when the repository folder cannot take it") {
    test::write_file(repo / "xsearch", "not a folder");  // so repo/xsearch/COMMIT cannot be made
    const fs::path where = model_weights_file(snapshot);
    CHECK(where.parent_path().parent_path() == tmp / "cache" / "xsearch" / "converted");
    CHECK(where.filename() == "model.safetensors");
    CHECK(ready_weights_file(snapshot) == where);
    CHECK_FALSE(fs::exists(snapshot / "model.safetensors"));
  }
}

TEST_CASE("a pickle that names any other global is refused, naming the file and the global", "[model][checkpoint]") {
  test::TempDir tmp;
  const auto marker = tmp / "ran";
  // What a malicious checkpoint does: os.system("touch MARKER") through GLOBAL + REDUCE.
  Pickle p;
  p.global("os", "system").raw("(").str("touch " + marker.string()).raw("tR.");
  const auto bin = tmp / "pytorch_model.bin";
  write_zip(bin, {{"archive/data.pkl", p.b}, {"archive/version", "3\n"}});
  const std::string e = read_error(bin);
  CHECK_THAT(e, Catch::Contains(bin.string()) && Catch::Contains("os.system") && Catch::Contains("refused"));
  CHECK_FALSE(fs::exists(marker));

  // The same inside a real state dict, as the value of one entry, and through the model loader.
  const auto dir = bin_only_model(tmp / "model");
  Pickle q;
  q.raw("}(").str("logit_scale").tensor("FloatStorage", "0", 1, 0, {}, {});
  q.str("evil").global("builtins", "eval").raw("(").str("1").raw("tR").raw("u.");
  write_zip(dir / "pytorch_model.bin", {{"archive/data.pkl", q.b}, {"archive/data/0", bytes_of(std::vector<float>{1.f})}});
  try {
    Model::load(dir, cpu());
    FAIL("loaded a checkpoint that calls builtins.eval");
  } catch (const Error& err) {
    CHECK_THAT(err.what(), Catch::Contains("pytorch_model.bin") && Catch::Contains("builtins.eval"));
  }
  CHECK_FALSE(fs::exists(dir / "model.safetensors"));
}

TEST_CASE("a truncated or non-zip pytorch_model.bin is a clear error", "[model][checkpoint]") {
  test::TempDir tmp;
  const std::string good = test::read_file(fixtures_dir() / "xclip-tiny" / "pytorch_model.bin");
  const auto bin = tmp / "pytorch_model.bin";
  for (const std::size_t keep : {good.size() / 2, good.size() - 10, std::size_t{100}, std::size_t{0}}) {
    INFO("kept " << keep << " bytes");
    test::write_file(bin, good.substr(0, keep));
    CHECK_THAT(read_error(bin), Catch::Contains(bin.string()) && Catch::Contains("truncated"));
  }
  // The legacy (pre-1.6) format is a bare pickle stream.
  test::write_file(bin, std::string("\x80\x02\x8a\x0a", 4) + std::string(20, '\0'));
  CHECK_THAT(read_error(bin), Catch::Contains("legacy"));
  // A damaged storage record fails its CRC.
  std::string damaged = good;
  const std::size_t name_at = good.find("pytorch_model/data/1");  // first in its local header
  REQUIRE(name_at != std::string::npos);
  const std::size_t header = name_at - 30;
  const auto u16 = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<uint8_t>(good[i]) | static_cast<uint8_t>(good[i + 1]) << 8); };
  const std::size_t data = header + 30 + u16(header + 26) + u16(header + 28);
  damaged[data + 5] ^= 0x55;  // one byte of that storage's data
  test::write_file(bin, damaged);
  CHECK_THAT(read_error(bin), Catch::Contains(bin.string()) && Catch::Contains("CRC"));
}

TEST_CASE("a storage whose size differs from what the pickle says is a clear error", "[model][checkpoint]") {
  test::TempDir tmp;
  const auto bin = tmp / "pytorch_model.bin";
  Pickle p;
  p.raw("}(").str("w").tensor("FloatStorage", "0", 10, 0, {10}, {1}).raw("u.");
  write_zip(bin, {{"archive/data.pkl", p.b}, {"archive/data/0", bytes_of(std::vector<float>(9, 1.f))}});
  CHECK_THAT(read_error(bin), Catch::Contains(bin.string()) && Catch::Contains("storage archive/data/0 has 36 bytes") &&
                                  Catch::Contains("10 F32 values (40 bytes)"));
  // A view reaching past its storage.
  Pickle q;
  q.raw("}(").str("w").tensor("FloatStorage", "0", 10, 4, {2, 4}, {4, 1}).raw("u.");
  write_zip(bin, {{"archive/data.pkl", q.b}, {"archive/data/0", bytes_of(std::vector<float>(10, 1.f))}});
  CHECK_THAT(read_error(bin), Catch::Contains("does not fit its storage"));
  // A storage the archive lacks.
  write_zip(bin, {{"archive/data.pkl", p.b}});
  CHECK_THAT(read_error(bin), Catch::Contains("archive/data/0 is not in the archive"));
}

TEST_CASE("float16 and bfloat16 views with offsets and strides are gathered exactly", "[model][checkpoint]") {
  test::TempDir tmp;
  const auto bin = tmp / "pytorch_model.bin";
  // Storage 0: 14 halves 0..13. "t" is the transpose of the 3x4 block at offset 2 (size [4, 3], stride
  // [1, 4]); "row" is its second row as a contiguous slice (offset 6, size [4]).
  std::vector<uint16_t> halves;
  for (int i = 0; i < 14; ++i) halves.push_back(float_to_half(static_cast<float>(i)));
  // Storage 1: 6 bfloat16 values; "b" takes every other one (size [3], stride [2], offset 1).
  std::vector<uint16_t> bf;
  for (int i = 0; i < 6; ++i) {
    const float f = 0.5f * i;
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bf.push_back(static_cast<uint16_t>(bits >> 16));  // exact: these values need no rounding
  }
  Pickle p;
  p.raw("}(").str("t").tensor("HalfStorage", "0", 14, 2, {4, 3}, {1, 4});
  p.str("row").tensor("HalfStorage", "0", 14, 6, {4}, {1});
  p.str("b").tensor("BFloat16Storage", "1", 6, 1, {3}, {2});
  p.raw("u.");
  write_zip(bin, {{"archive/data.pkl", p.b}, {"archive/data/0", bytes_of(halves)}, {"archive/data/1", bytes_of(bf)}});
  const NamedTensors t = read_pytorch_checkpoint(bin);
  REQUIRE(t.size() == 3);
  CHECK(t[0].first == "t");
  CHECK(t[0].second.dtype == DType::F16);
  CHECK(t[0].second.shape == std::vector<int64_t>{4, 3});
  // t[i][j] = storage[2 + i + 4 j]
  CHECK(t[0].second.to_float() == std::vector<float>{2, 6, 10, 3, 7, 11, 4, 8, 12, 5, 9, 13});
  CHECK(t[1].second.to_float() == std::vector<float>{6, 7, 8, 9});
  CHECK(t[2].second.dtype == DType::BF16);
  CHECK(t[2].second.to_float() == std::vector<float>{0.5f, 1.5f, 2.5f});

  // The conversion keeps the dtypes and the gathered values.
  convert_pytorch_checkpoint(bin, tmp / "out.safetensors");
  const SafetensorsFile out(tmp / "out.safetensors");
  CHECK(out.read("t").bytes == t[0].second.bytes);
  CHECK(out.read("b").dtype == DType::BF16);
  CHECK(out.metadata().at("format") == "pt");
}
