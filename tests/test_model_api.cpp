// Device, dtype and input checks of the public Model API.
#include "helpers.hpp"
#include "xsearch/config.hpp"
#include "xsearch/error.hpp"
#include "xsearch/model.hpp"
#include "xsearch/safetensors.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
namespace test = xsearch::test;

TEST_CASE("model options refuse unknown devices and half precision on the CPU", "[model]") {
  const auto dir = fixtures_dir() / "xclip-tiny";
  ModelOptions o;
  o.device = "tpu";
  CHECK_THROWS_WITH(Model::load(dir, o), Catch::Contains("not a device name"));
  o.device = "cpu";
  o.dtype = "float16";
  CHECK_THROWS_WITH(Model::load(dir, o), Catch::Contains("CUDA only"));
  o.dtype = "float8";
  CHECK_THROWS_WITH(Model::load(dir, o), Catch::Contains("float32, float16 or bfloat16"));
  o = ModelOptions{};  // auto: the CPU here unless a GPU is present
  const Model m = Model::load(dir, o);
  CHECK((m.device() == "cpu" || m.device().rfind("cuda", 0) == 0));
  CHECK(m.load_seconds() > 0);
}

TEST_CASE("model calls reject inputs of the wrong shape with a clear error", "[model]") {
  const auto dir = fixtures_dir() / "xclip-tiny";
  ModelOptions o;
  o.device = test::test_device();
  const Model m = Model::load(dir, o);
  const SafetensorsFile inputs(dir / "inputs.safetensors");
  // 3 frames where the model takes 4.
  const HostTensor three_frames = HostTensor::from_f32({1, 3, 3, 32, 32}, std::vector<float>(3 * 3 * 32 * 32, 0.f));
  CHECK_THROWS_WITH(m.video_features(three_frames), Catch::Contains("takes 4"));
  const HostTensor ids = HostTensor::from_i64({1, 3}, {510, 9999, 511});
  CHECK_THROWS_WITH(m.text_features(ids, HostTensor::from_i64({1, 3}, {1, 1, 1})), Catch::Contains("outside the vocabulary"));
  CHECK_THROWS_WITH(m.text_features(HostTensor::from_i64({1, 100}, std::vector<int64_t>(100, 5)),
                                    HostTensor::from_i64({1, 100}, std::vector<int64_t>(100, 1))),
                    Catch::Contains("max_position_embeddings"));
  CHECK_THROWS_AS(m.text_features(inputs.read("pixel_values"), inputs.read("attention_mask")), Error);
}

namespace {

// Cosine of each row of a and b ([B, D] float tensors): the smallest.
double min_row_cosine(const HostTensor& a, const HostTensor& b) {
  REQUIRE(a.shape == b.shape);
  const auto x = a.to_float(), y = b.to_float();
  const int64_t rows = a.shape[0], dim = a.shape[1];
  double worst = 1.0;
  for (int64_t r = 0; r < rows; ++r) {
    double xy = 0, xx = 0, yy = 0;
    for (int64_t i = r * dim; i < (r + 1) * dim; ++i) {
      xy += double(x[i]) * y[i];
      xx += double(x[i]) * x[i];
      yy += double(y[i]) * y[i];
    }
    worst = std::min(worst, xy / std::sqrt(xx * yy));
  }
  return worst;
}

HostTensor random_pixels(std::vector<int64_t> shape, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);  // what CLIP's normalisation makes of natural frames
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = normal(gen);
  return HostTensor::from_f32(shape, v);
}

}  // namespace

TEST_CASE("dtype auto is float16 on CUDA with embeddings within cosine 0.9999 of float32, float32 on the CPU", "[model]") {
  const auto dir = fixtures_dir() / "xclip-tiny";
  ModelOptions o;
  o.device = test::test_device();
  o.dtype = "auto";
  const Model automatic = Model::load(dir, o);
  if (automatic.device().rfind("cuda", 0) != 0) {
    CHECK(automatic.dtype() == "float32");  // the CPU computes in float32 only
    return;  // the float16 half of this test runs with XSEARCH_TEST_DEVICE=cuda (scripts/gpu-check.sh)
  }
  REQUIRE(automatic.dtype() == "float16");
  // The floor: 0.9999, the cosine at which float16 changes no ranking that float32's own run-to-run noise
  // would not (scores of a query differ by about 1e-4 between neighbouring clips at the top of a list).
  o.dtype = "float32";
  const Model exact = Model::load(dir, o);
  const SafetensorsFile inputs(dir / "inputs.safetensors");
  const HostTensor pixels = inputs.read("pixel_values");
  const double tiny = min_row_cosine(automatic.video_features(pixels).embeds, exact.video_features(pixels).embeds);
  INFO("xclip-tiny: float16 vs float32 cosine " << tiny);
  CHECK(tiny >= 0.9999);

  // A base-patch32-shaped model with random weights: 12 layers of 768, where float16's rounding adds up.
  test::TempDir tmp;
  write_random_checkpoint(tmp.path(), parse_xclip_config("{}", "defaults"), 0, DType::F32);
  const Model base16 = Model::load(tmp.path(), [&] { ModelOptions b = o; b.dtype = "float16"; return b; }());
  const Model base32 = Model::load(tmp.path(), o);
  const HostTensor clips = random_pixels({4, 8, 3, 224, 224}, 7);
  const double base = min_row_cosine(base16.video_features(clips).embeds, base32.video_features(clips).embeds);
  INFO("random base-patch32: float16 vs float32 cosine " << base);
  CHECK(base >= 0.9999);
}
