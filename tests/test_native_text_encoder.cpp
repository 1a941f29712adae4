// The LibTorch-free text encoder against the reference fixtures, at the model tests' tolerance.
#include "helpers.hpp"
#include "text_encoder/native_text_encoder.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/tokenizer.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;

TEST_CASE("the native text encoder reproduces the reference text features and hidden states", "[model]") {
  const auto dir = fixtures_dir() / "xclip-tiny";
  const NativeTextEncoder enc = NativeTextEncoder::load(dir);
  const SafetensorsFile inputs(dir / "inputs.safetensors"), expected(dir / "expected.safetensors");
  const auto ids = inputs.read("input_ids"), mask = inputs.read("attention_mask");
  const auto all_ids = ids.to_int64(), all_mask = mask.to_int64();
  const auto want = expected.read("text_embeds_raw").to_float();
  const auto want_hidden = expected.read("text_last_hidden").to_float();
  const int64_t T = ids.shape[0], L = ids.shape[1], D = 32, H = 64;
  for (int64_t t = 0; t < T; ++t) {
    // Each text without its padding: with the causal mask, padding after the EOS changes nothing before it.
    std::vector<int64_t> row;
    for (int64_t i = 0; i < L; ++i)
      if (all_mask[t * L + i]) row.push_back(all_ids[t * L + i]);
    std::vector<float> hidden;
    const auto got = enc.encode(row, &hidden);
    // Same tolerance as the LibTorch model (test_model_parity.cpp explains it).
    for (int64_t d = 0; d < D; ++d) CHECK(got[d] == Approx(want[t * D + d]).margin(1e-4).epsilon(1e-4));
    for (std::size_t i = 0; i < row.size(); ++i)
      for (int64_t d = 0; d < H; ++d)
        CHECK(hidden[i * H + d] == Approx(want_hidden[(t * L + static_cast<int64_t>(i)) * H + d]).margin(1e-4).epsilon(1e-4));
  }
  CHECK_THROWS_WITH(enc.encode({510, 9999, 511}), Catch::Contains("outside the vocabulary"));
}

TEST_CASE("the native text encoder gives the classify fixture's text features from the real tokenizer", "[model][tokenizer]") {
  const auto dir = fixtures_dir() / "xclip-tiny-full";
  const NativeTextEncoder enc = NativeTextEncoder::load(dir);
  const ClipTokenizer tok = ClipTokenizer::load(dir);
  const SafetensorsFile ref(dir / "visible-640x360-h264.classify.safetensors");
  const auto want = ref.read("text_embeds_raw").to_float();
  const std::vector<std::string> labels = {"playing sports", "eating spaghetti", "go shopping"};
  for (std::size_t t = 0; t < labels.size(); ++t) {
    const auto got = enc.encode(tok.encode(labels[t]));
    for (std::size_t d = 0; d < got.size(); ++d) CHECK(got[d] == Approx(want[t * 32 + d]).margin(1e-4).epsilon(1e-4));
  }
}
