// The checkpoint loader: base-patch32's exact layout, a random checkpoint of that layout, and every kind of
// bad checkpoint giving a clear error that names the file and the tensor.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "xsearch/checkpoint.hpp"
#include "xsearch/error.hpp"
#include "xsearch/model.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/xclip_torch.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
namespace fs = std::filesystem;

namespace {

ModelOptions cpu_options() {
  ModelOptions o;
  o.device = "cpu";
  return o;
}

// A copy of the tiny fixture model whose tensors pass through `edit` before being written back.
fs::path edited_tiny_model(const test::TempDir& tmp, const std::function<void(NamedTensors&)>& edit) {
  const auto src = fixtures_dir() / "xclip-tiny";
  const auto dst = tmp / "model";
  fs::create_directories(dst);
  fs::copy_file(src / "config.json", dst / "config.json");
  const SafetensorsFile file(src / "model.safetensors");
  NamedTensors tensors;
  for (const auto& info : file.tensors()) tensors.emplace_back(info.name, file.read(info.name));
  edit(tensors);
  write_safetensors(dst / "model.safetensors", tensors);
  return dst;
}

std::string load_error(const fs::path& dir) {
  try {
    Model::load(dir, cpu_options());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("the default configuration has exactly base-patch32's parameter names and shapes", "[model]") {
  const auto shapes = nlohmann::json::parse(test::read_file(fixtures_dir() / "xclip-base-patch32.shapes.json"));
  // The default XCLIPConfig is base-patch32's; the fixture's config must parse to the same.
  const XCLIPConfig defaults = parse_xclip_config("{}", "defaults");
  const XCLIPConfig fixture = parse_xclip_config(shapes["config"].dump(), "shapes.json");
  CHECK(xclip_config_to_json(defaults) == xclip_config_to_json(fixture));

  const model::XCLIPModel m(defaults);
  std::map<std::string, std::vector<int64_t>> ours;
  int64_t total = 0;
  for (const auto& p : m->named_parameters()) {
    ours[p.key()] = std::vector<int64_t>(p.value().sizes().begin(), p.value().sizes().end());
    total += p.value().numel();
  }
  std::map<std::string, std::vector<int64_t>> theirs;
  for (const auto& [name, shape] : shapes["parameters"].items()) theirs[name] = shape.get<std::vector<int64_t>>();
  for (const auto& [name, shape] : theirs) {
    INFO("reference parameter " << name);
    REQUIRE(ours.count(name) == 1);
    CHECK(ours[name] == shape);
  }
  for (const auto& [name, shape] : ours) {
    INFO("our parameter " << name);
    CHECK(theirs.count(name) == 1);
  }
  CHECK(ours.size() == shapes["num_tensors"].get<std::size_t>());
  CHECK(total == shapes["total_parameters"].get<int64_t>());
}

TEST_CASE("a random float16 checkpoint of base-patch32's layout loads and runs", "[model][slow]") {
  test::TempDir tmp;
  const XCLIPConfig config = parse_xclip_config("{}", "defaults");
  write_random_checkpoint(tmp.path(), config, 7, DType::F16);
  const Model model = Model::load(tmp.path(), cpu_options());
  const auto& vc = config.vision_config;
  // One clip of random frames and two short texts.
  at::manual_seed(0);
  const HostTensor pixels = to_host(at::randn({1, vc.num_frames, 3, vc.image_size, vc.image_size}));
  const HostTensor ids = HostTensor::from_i64({2, 4}, {49406, 320, 2368, 49407, 49406, 4371, 49407, 49407});
  const HostTensor mask = HostTensor::from_i64({2, 4}, {1, 1, 1, 1, 1, 1, 1, 0});
  const ForwardResult r = model.forward(ids, mask, pixels);
  REQUIRE(r.logits_per_video.shape == std::vector<int64_t>{1, 2});
  for (float v : r.logits_per_video.to_float()) CHECK(std::isfinite(v));
  const VideoFeatures video = model.video_features(pixels, true);
  CHECK(video.embeds.shape == std::vector<int64_t>{1, config.projection_dim});
  // 49 patch tokens of 512 per clip: what the index stores for re-ranking.
  CHECK(video.prompt_tokens.shape == std::vector<int64_t>{1, 49, config.projection_dim});
  // F16 weights were converted: the text features of a text-only load agree with the full model's.
  ModelOptions text_only = cpu_options();
  text_only.parts = ModelParts::Text;
  const Model text_model = Model::load(tmp.path(), text_only);
  XSEARCH_CHECK_CLOSE("text features", text_model.text_features(ids, mask), model.text_features(ids, mask), 0.0, 0.0);
  CHECK_THROWS_WITH(text_model.video_features(pixels), Catch::Contains("without that tower"));
}

TEST_CASE("loader rejects a checkpoint with a missing tensor", "[model]") {
  test::TempDir tmp;
  const auto dir = edited_tiny_model(tmp, [](NamedTensors& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [](auto& p) { return p.first == "mit.position_embedding"; }), t.end());
  });
  const std::string msg = load_error(dir);
  CHECK_THAT(msg, Catch::Contains("model.safetensors") && Catch::Contains("missing tensor \"mit.position_embedding\""));
}

TEST_CASE("loader rejects a checkpoint with an unexpected tensor", "[model]") {
  test::TempDir tmp;
  const auto dir = edited_tiny_model(tmp, [](NamedTensors& t) {
    t.emplace_back("vision_model.encoder.layers.9.message_fc.weight", HostTensor::from_f32({1}, {0.f}));
  });
  CHECK_THAT(load_error(dir), Catch::Contains("model.safetensors") &&
                                  Catch::Contains("unexpected tensor \"vision_model.encoder.layers.9.message_fc.weight\""));
}

TEST_CASE("loader ignores the position_ids buffers of older checkpoints", "[model]") {
  test::TempDir tmp;
  const auto dir = edited_tiny_model(tmp, [](NamedTensors& t) {
    std::vector<int64_t> ids(77);
    for (int i = 0; i < 77; ++i) ids[i] = i;
    t.emplace_back("text_model.embeddings.position_ids", HostTensor::from_i64({1, 77}, ids));
  });
  CHECK_NOTHROW(Model::load(dir, cpu_options()));
}

TEST_CASE("loader rejects a tensor of the wrong shape", "[model]") {
  test::TempDir tmp;
  const auto dir = edited_tiny_model(tmp, [](NamedTensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "text_projection.weight") tensor = HostTensor::from_f32({32, 32}, std::vector<float>(32 * 32, 0.5f));
  });
  CHECK_THAT(load_error(dir), Catch::Contains("\"text_projection.weight\" has shape [32, 32], expected [32, 64]"));
}

TEST_CASE("loader rejects an integer tensor where a weight belongs", "[model]") {
  test::TempDir tmp;
  const auto dir = edited_tiny_model(tmp, [](NamedTensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "logit_scale") tensor = HostTensor::from_i64({}, {3});
  });
  CHECK_THAT(load_error(dir), Catch::Contains("\"logit_scale\"") && Catch::Contains("I64"));
}

TEST_CASE("loader converts float16 and bfloat16 weights", "[model]") {
  test::TempDir tmp;
  const auto tiny = fixtures_dir() / "xclip-tiny";
  for (DType dt : {DType::F16, DType::BF16}) {
    const auto dir = edited_tiny_model(tmp, [&](NamedTensors& t) {
      for (auto& [name, tensor] : t) {
        const torch::Tensor v = to_tensor(tensor).to(dt == DType::F16 ? at::kHalf : at::kBFloat16).contiguous();
        tensor.dtype = dt;
        tensor.bytes.assign(static_cast<const uint8_t*>(v.data_ptr()),
                            static_cast<const uint8_t*>(v.data_ptr()) + v.numel() * v.element_size());
      }
    });
    const Model model = Model::load(dir, cpu_options());
    const Model reference = Model::load(tiny, cpu_options());
    const SafetensorsFile inputs(tiny / "inputs.safetensors");
    const auto a = model.text_features(inputs.read("input_ids"), inputs.read("attention_mask"));
    const auto b = reference.text_features(inputs.read("input_ids"), inputs.read("attention_mask"));
    // Rounding the weights to 8 (bf16) or 11 (f16) significant bits moves features by a few percent at most,
    // far from random: the conversion keeps each value.
    XSEARCH_CHECK_CLOSE(dtype_name(dt), a, b, 0.1, 0.1);
    fs::remove_all(dir);
  }
}

TEST_CASE("loader rejects truncated and malformed safetensors files", "[model]") {
  test::TempDir tmp;
  const auto dir = edited_tiny_model(tmp, [](NamedTensors&) {});
  const auto weights = dir / "model.safetensors";
  const std::string good = test::read_file(weights);

  SECTION("truncated data") {
    test::write_file(weights, good.substr(0, good.size() - 1000));
    CHECK_THAT(load_error(dir), Catch::Contains("model.safetensors") && Catch::Contains("truncated"));
  }
  SECTION("truncated header") {
    test::write_file(weights, good.substr(0, 100));
    CHECK_THAT(load_error(dir), Catch::Contains("model.safetensors") && Catch::Contains("header"));
  }
  SECTION("empty file") {
    test::write_file(weights, "");
    CHECK_THAT(load_error(dir), Catch::Contains("model.safetensors") && Catch::Contains("not a safetensors file"));
  }
  SECTION("header that is not JSON") {
    std::string bad = good;
    bad[8] = '#';
    test::write_file(weights, bad);
    CHECK_THAT(load_error(dir), Catch::Contains("model.safetensors") && Catch::Contains("invalid JSON"));
  }
  SECTION("a pytorch_model.bin folder") {
    fs::remove(weights);
    test::write_file(dir / "pytorch_model.bin", "PK");  // not a zip: converting it fails, naming it
    // A build without libzip (a model-only build on a GPU machine) reads no .bin at all, and says so.
    if (pytorch_checkpoint_supported())
      CHECK_THAT(load_error(dir), Catch::Contains("pytorch_model.bin: not a complete zip archive"));
    else
      CHECK_THAT(load_error(dir), Catch::Contains("pytorch_model.bin: this build of xsearch reads no pytorch_model.bin"));
  }
  SECTION("a config that does not match the weights") {
    auto cfg = nlohmann::json::parse(test::read_file(dir / "config.json"));
    cfg["vision_config"]["num_hidden_layers"] = 3;
    test::write_file(dir / "config.json", cfg.dump());
    // Found before the model is built (model/config_weights.cpp), naming the key.
    CHECK_THAT(load_error(dir), Catch::Contains("config.json: vision_config.num_hidden_layers is 3, but model.safetensors holds 2"));
  }
}
