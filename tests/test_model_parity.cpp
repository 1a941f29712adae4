// Parity of the LibTorch X-CLIP with the reference (tests/fixtures/xclip-tiny): every output and
// intermediate, through the torch module and through the public API.
//
// Tolerance: atol 1e-4, rtol 1e-4. The expected tensors were computed in float64; the reference itself run
// in float32 differs from them by at most 3.2e-6 (fixture README), so a correct float32 port sits two
// orders of magnitude inside this bound, while a wrong mask, LayerNorm, bias or prompt step moves values by
// 1e-2 or more (the prompt generator alone moves logits by 0.147).
#include <ATen/ATen.h>

#include <cstdlib>

#include "helpers.hpp"
#include "xsearch/dev.hpp"
#include "xsearch/model.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/xclip_torch.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;

namespace {

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;

// The device under test: the CPU, or $XSEARCH_TEST_DEVICE (test::test_device()).
ModelOptions test_options() {
  ModelOptions o;
  o.device = test::test_device();
  return o;
}

}  // namespace

// Runs dev_forward on one of the fixture's input files and compares every tensor of its expected file.
static void check_every_tensor(const std::string& inputs, const std::string& expected_file, bool interpolate, std::size_t at_least) {
  const auto dir = fixtures_dir() / "xclip-tiny";
  test::TempDir tmp;
  const auto out_path = tmp / "out.safetensors";
  dev_forward(dir, dir / inputs, out_path, interpolate, 0, test::test_device());
  const SafetensorsFile expected(dir / expected_file);
  const SafetensorsFile actual(out_path);
  REQUIRE(expected.tensors().size() >= at_least);
  for (const auto& info : expected.tensors()) {
    INFO("tensor " << info.name);
    REQUIRE(actual.find(info.name) != nullptr);
    XSEARCH_CHECK_CLOSE(info.name, actual.read(info.name), expected.read(info.name), kAtol, kRtol);
  }
}

TEST_CASE("the forward pass reproduces every reference tensor of xclip-tiny", "[model]") {
  check_every_tensor("inputs.safetensors", "expected.safetensors", false, 20);
}

TEST_CASE("interpolate_pos_encoding reproduces the reference on 48x48 frames", "[model]") {
  check_every_tensor("inputs-interpolate.safetensors", "expected-interpolate.safetensors", true, 7);
  const auto dir = fixtures_dir() / "xclip-tiny";
  // Without the option, other frame sizes are refused with a clear message.
  const Model model = Model::load(dir, test_options());
  const SafetensorsFile inputs(dir / "inputs-interpolate.safetensors");
  CHECK_THROWS_WITH(model.video_features(inputs.read("pixel_values")), Catch::Contains("48x48"));
}

TEST_CASE("the public API gives the reference features, logits and loss", "[model]") {
  const auto dir = fixtures_dir() / "xclip-tiny";
  const Model model = Model::load(dir, test_options());
  const SafetensorsFile inputs(dir / "inputs.safetensors");
  const SafetensorsFile expected(dir / "expected.safetensors");
  const HostTensor ids = inputs.read("input_ids"), mask = inputs.read("attention_mask");
  const HostTensor pixels = inputs.read("pixel_values");

  const HostTensor text = model.text_features(ids, mask);
  XSEARCH_CHECK_CLOSE("text_embeds_raw", text, expected.read("text_embeds_raw"), kAtol, kRtol);
  const VideoFeatures video = model.video_features(pixels, true);
  XSEARCH_CHECK_CLOSE("video_embeds_raw", video.embeds, expected.read("video_embeds_raw"), kAtol, kRtol);
  XSEARCH_CHECK_CLOSE("prompt_visual_features", video.prompt_tokens, expected.read("prompt_visual_features"), kAtol, kRtol);
  // The exact score from stored features equals the full forward's.
  XSEARCH_CHECK_CLOSE("logits_per_video", model.logits(text, video), expected.read("logits_per_video"), kAtol, kRtol);

  const ForwardResult full = model.forward(ids, mask, pixels);
  XSEARCH_CHECK_CLOSE("logits_per_video", full.logits_per_video, expected.read("logits_per_video"), kAtol, kRtol);
  XSEARCH_CHECK_CLOSE("logits_per_text", full.logits_per_text, expected.read("logits_per_text"), kAtol, kRtol);
  XSEARCH_CHECK_CLOSE("text_embeds", full.text_embeds, expected.read("text_embeds"), kAtol, kRtol);
  XSEARCH_CHECK_CLOSE("video_embeds", full.video_embeds, expected.read("video_embeds"), kAtol, kRtol);
  CHECK(full.loss.bytes.empty());

  const ForwardResult pair = model.forward(inputs.read("input_ids_pair"), inputs.read("attention_mask_pair"), pixels, true);
  XSEARCH_CHECK_CLOSE("loss_pair", pair.loss, expected.read("loss_pair"), kAtol, kRtol);
  XSEARCH_CHECK_CLOSE("logits_per_video_pair", pair.logits_per_video, expected.read("logits_per_video_pair"), kAtol, kRtol);
  // The loss needs as many texts as videos.
  CHECK_THROWS_WITH(model.forward(ids, mask, pixels, true), Catch::Contains("as many texts as videos"));

  const TowerOutput text_tower = model.text_model(ids, mask);
  XSEARCH_CHECK_CLOSE("text_last_hidden", text_tower.last_hidden_state, expected.read("text_last_hidden"), kAtol, kRtol);
  XSEARCH_CHECK_CLOSE("text_pooled", text_tower.pooler_output, expected.read("text_pooled"), kAtol, kRtol);
  HostTensor frames = pixels;
  frames.shape = {pixels.shape[0] * pixels.shape[1], pixels.shape[2], pixels.shape[3], pixels.shape[4]};
  const TowerOutput vision_tower = model.vision_model(frames);
  XSEARCH_CHECK_CLOSE("vision_last_hidden", vision_tower.last_hidden_state, expected.read("vision_last_hidden"), kAtol, kRtol);
  XSEARCH_CHECK_CLOSE("vision_pooled", vision_tower.pooler_output, expected.read("vision_pooled"), kAtol, kRtol);
}

TEST_CASE("towers return every layer's hidden states and attention maps on request", "[model]") {
  const auto dir = fixtures_dir() / "xclip-tiny";
  const Model model = Model::load(dir, test_options());
  const SafetensorsFile inputs(dir / "inputs.safetensors");
  const auto& tc = model.config().text_config;
  const HostTensor ids = inputs.read("input_ids"), mask = inputs.read("attention_mask");
  const TowerOutput text = model.text_model(ids, mask, true, true);
  REQUIRE(text.hidden_states.size() == static_cast<std::size_t>(tc.num_hidden_layers + 1));
  REQUIRE(text.attentions.size() == static_cast<std::size_t>(tc.num_hidden_layers));
  const int64_t T = ids.shape[0], L = ids.shape[1];
  for (const auto& a : text.attentions) {
    REQUIRE(a.shape == std::vector<int64_t>{T, tc.num_attention_heads, L, L});
    const auto v = a.to_float();
    const auto m = mask.to_int64();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < tc.num_attention_heads; ++h)
        for (int64_t i = 0; i < L; ++i) {
          double row = 0;
          for (int64_t j = 0; j < L; ++j) {
            const float p = v[((t * tc.num_attention_heads + h) * L + i) * L + j];
            row += p;
            // Causal: no attention to later tokens; padding: none to padded keys.
            if (j > i || m[t * L + j] == 0) CHECK(p == 0.0f);
          }
          CHECK(row == Approx(1.0).margin(1e-5));
        }
  }
  HostTensor frames = inputs.read("pixel_values");
  frames.shape = {frames.shape[0] * frames.shape[1], frames.shape[2], frames.shape[3], frames.shape[4]};
  const TowerOutput vision = model.vision_model(frames, true, true);
  const auto& vc = model.config().vision_config;
  REQUIRE(vision.hidden_states.size() == static_cast<std::size_t>(vc.num_hidden_layers + 1));
  REQUIRE(vision.attentions.size() == static_cast<std::size_t>(vc.num_hidden_layers));
  const int64_t tokens = (vc.image_size / vc.patch_size) * (vc.image_size / vc.patch_size) + 1;
  // Self-attention sees the frame's tokens plus its message token.
  CHECK(vision.attentions[0].shape == std::vector<int64_t>{frames.shape[0], vc.num_attention_heads, tokens + 1, tokens + 1});
  XSEARCH_CHECK_CLOSE("last hidden", vision.hidden_states.back(), vision.last_hidden_state, 0.0, 0.0);
}

TEST_CASE("gradients of the contrastive loss reach every parameter and match finite differences", "[model]") {
  const auto dir = fixtures_dir() / "xclip-tiny";
  const Model model = Model::load(dir, test_options());
  auto& m = torch_module(model);
  const SafetensorsFile inputs(dir / "inputs.safetensors");
  // The inputs go where the model is (the CPU, or CUDA with XSEARCH_TEST_DEVICE=cuda).
  const auto device = m.logit_scale.device();
  const auto ids = to_tensor(inputs.read("input_ids_pair")).to(device);
  const auto mask = to_tensor(inputs.read("attention_mask_pair")).to(device);
  const auto pixels = to_tensor(inputs.read("pixel_values")).to(device);
  auto out = m.forward(ids, pixels, mask, true);
  out.loss.backward();
  for (const auto& p : m.named_parameters()) {
    INFO("parameter " << p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().isfinite().all().item<bool>());
  }
  // The loss's derivative with respect to logit_scale, against a central difference in float64.
  REQUIRE(device.str() == Model::load(dir, test_options()).device());  // the test ran where it was pointed
  const double analytic = m.logit_scale.grad().item<double>();
  m.to(at::kDouble);
  const auto pixels64 = pixels.to(at::kDouble);
  auto loss_at = [&](double delta) {
    torch::NoGradGuard g;
    m.logit_scale.add_(delta);
    const double l = m.forward(ids, pixels64, mask, true).loss.item<double>();
    m.logit_scale.sub_(delta);
    return l;
  };
  const double h = 1e-4;
  const double numeric = (loss_at(h) - loss_at(-h)) / (2 * h);
  // float32 gradient vs float64 difference quotient: 1e-4 relative is float32's accumulated rounding.
  CHECK(analytic == Approx(numeric).epsilon(1e-3).margin(1e-5));
  CHECK(std::fabs(numeric) > 1e-6);  // the check above is not vacuous
}
