// Device, dtype and input checks of the public Model API.
#include "helpers.hpp"
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
