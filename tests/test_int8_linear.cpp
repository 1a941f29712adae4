// Dynamic int8 for the vision tower's linear layers, which `xsearch-bench-model --quantize int8` measures
// (issue 22): close to float32, the input's shape kept, wired into the right layers, and refused with a
// reason where it cannot run.
#include <ATen/ATen.h>

#include "helpers.hpp"
#include "model/int8_linear.h"
#include "model/layers.h"
#include "xsearch/error.hpp"
#include "xsearch/model.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/xclip_torch.hpp"

using namespace xsearch;
using xsearch::model::Int8DynamicLinear;
using xsearch::test::fixtures_dir;

namespace {

double lowest_cosine(const at::Tensor& a, const at::Tensor& b) {
  return at::cosine_similarity(a.flatten(1).to(at::kDouble), b.flatten(1).to(at::kDouble), 1).min().item<double>();
}

}  // namespace

TEST_CASE("an int8 dynamic linear stays close to float32 and keeps the input's shape", "[model][int8]") {
  if (Int8DynamicLinear::engine().empty()) {
    CHECK_THROWS_WITH(Int8DynamicLinear(at::ones({4, 4}), at::Tensor()), Catch::Contains("FBGEMM or oneDNN"));
    return;
  }
  at::NoGradGuard no_grad;  // fills the layer's parameters in place
  at::manual_seed(7);
  model::Linear layer(768, 3072);  // the vision MLP's fc1 of base-patch32
  layer->weight.normal_(0, 0.02);
  layer->bias.normal_(0, 0.5);  // as large as the product's values, so that a lost bias shows
  const at::Tensor x = at::randn({2, 51, 768});
  const at::Tensor expected = layer(x);
  layer->quantize_int8();
  const at::Tensor actual = layer(x);
  REQUIRE(actual.sizes() == expected.sizes());
  // Relative L2 error: measured 0.0136 with oneDNN's 8-bit activations (LibTorch 1.13); FBGEMM's 7-bit
  // ones (reduce_range) double the activations' share of it, hence 0.04. A lost bias, a wrong scale or zero
  // point, or rows mixed up, give 0.1 to 1.
  const double error = ((actual - expected).norm() / expected.norm()).item<double>();
  CHECK(error < 0.04);
  CHECK(error > 0);  // the int8 path did run
}

TEST_CASE("int8 quantisation is refused off the CPU's float32 with the reason", "[model][int8]") {
  if (Int8DynamicLinear::engine().empty()) return;  // the test above checks that refusal
  CHECK_THROWS_AS(Int8DynamicLinear(at::ones({4, 4}, at::kDouble), at::Tensor()), Error);
  CHECK_THROWS_WITH(Int8DynamicLinear(at::ones({4, 4}, at::kDouble), at::Tensor()), Catch::Contains("CPU in float32"));
}

TEST_CASE("the int8 vision encoder keeps the fixture's video embeddings close to float32", "[model][int8]") {
  if (Int8DynamicLinear::engine().empty()) return;
  const auto dir = fixtures_dir() / "xclip-tiny";
  ModelOptions options;
  options.device = "cpu";
  const Model float32 = Model::load(dir, options);
  const Model int8 = Model::load(dir, options);
  torch_module(int8).vision_model->encoder->quantize_int8();
  const SafetensorsFile inputs(dir / "inputs.safetensors");
  const HostTensor pixels = inputs.read("pixel_values");
  const VideoFeatures expected = float32.video_features(pixels, true);
  const VideoFeatures actual = int8.video_features(pixels, true);
  // Measured: 0.99965 for the video embeddings, 0.9986 for the prompt tokens (oneDNN, LibTorch 1.13);
  // FBGEMM's 7-bit activations double the noise, hence 0.998 and 0.995. Wiring errors (q and k
  // chunks swapped: 0.9705 and 0.9303) fall well below.
  const double video = lowest_cosine(to_tensor(actual.embeds), to_tensor(expected.embeds));
  const double prompts = lowest_cosine(to_tensor(actual.prompt_tokens), to_tensor(expected.prompt_tokens));
  CHECK(video > 0.998);
  CHECK(prompts > 0.995);
  CHECK(video < 1 - 1e-9);  // the int8 path did run
}
