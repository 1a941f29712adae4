// config.json parsing: every field, the reference defaults, the legacy *_config_dict form, clear errors.
#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "xsearch/config.hpp"
#include "xsearch/error.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;

TEST_CASE("config reads every field of the tiny fixture config", "[model]") {
  const XCLIPConfig c = load_xclip_config(fixtures_dir() / "xclip-tiny" / "config.json");
  CHECK(c.projection_dim == 32);
  CHECK(c.prompt_num_attention_heads == 4);
  CHECK(c.prompt_alpha == Approx(0.1));
  CHECK(c.text_config.vocab_size == 512);
  CHECK(c.text_config.hidden_size == 64);
  CHECK(c.text_config.eos_token_id == 511);
  CHECK(c.vision_config.image_size == 32);
  CHECK(c.vision_config.patch_size == 8);
  CHECK(c.vision_config.num_frames == 4);
  CHECK(c.vision_config.mit_hidden_size == 32);
  CHECK(c.vision_config.mit_intermediate_size == 128);
}

TEST_CASE("config takes the reference defaults for missing fields", "[model]") {
  const XCLIPConfig c = parse_xclip_config(R"({"vision_config": {"num_frames": 16}})", "cfg");
  CHECK(c.vision_config.num_frames == 16);
  CHECK(c.vision_config.hidden_size == 768);
  CHECK(c.vision_config.patch_size == 32);
  CHECK(c.text_config.hidden_size == 512);
  CHECK(c.projection_dim == 512);
  CHECK(c.logit_scale_init_value == Approx(2.6592));
}

TEST_CASE("config reads the older text_config_dict / vision_config_dict form", "[model]") {
  const XCLIPConfig c = parse_xclip_config(
      R"({"text_config_dict": {"hidden_size": 768, "num_attention_heads": 12},
          "vision_config": {"patch_size": 32}, "vision_config_dict": {"patch_size": 16, "hidden_size": 1024,
          "num_attention_heads": 16}, "projection_dim": 512})",
      "cfg");
  CHECK(c.text_config.hidden_size == 768);
  CHECK(c.vision_config.patch_size == 16);  // the dict wins, as in the reference
  CHECK(c.vision_config.hidden_size == 1024);
}

TEST_CASE("config errors name the file and the field", "[model]") {
  CHECK_THROWS_WITH(parse_xclip_config(R"({"vision_config": {"num_frames": "eight"}})", "m/config.json"),
                    Catch::Contains("m/config.json: vision_config.num_frames: expected an integer"));
  CHECK_THROWS_WITH(parse_xclip_config("{not json", "m/config.json"), Catch::Contains("m/config.json: invalid JSON"));
  // An integer written as a float is read when it is integral and in range; 1e30 (found by fuzzing: its
  // conversion to int64 was undefined behaviour) and 2^63 are errors, as is 8.5.
  CHECK(parse_xclip_config(R"({"vision_config": {"num_frames": 16.0}})", "c").vision_config.num_frames == 16);
  for (const char* bad : {"1e30", "9223372036854775808.0", "-1e300", "8.5"})
    CHECK_THROWS_WITH(parse_xclip_config(std::string(R"({"vision_config": {"num_frames": )") + bad + "}}", "m/config.json"),
                      Catch::Contains("m/config.json: vision_config.num_frames: expected an integer"));
  CHECK_THROWS_WITH(parse_xclip_config(R"({"text_config": {"hidden_size": 100, "num_attention_heads": 8}})", "c"),
                    Catch::Contains("text_config.num_attention_heads: does not divide"));
  CHECK_THROWS_WITH(parse_xclip_config(R"({"model_type": "clip"})", "c"), Catch::Contains("not \"xclip\""));
  CHECK_THROWS_WITH(parse_xclip_config(R"({"prompt_hidden_act": "swish9"})", "c"), Catch::Contains("unsupported activation"));
  CHECK_THROWS_WITH(parse_xclip_config(R"({"vision_config": {"patch_size": 0}})", "c"), Catch::Contains("must be positive"));
  CHECK_THROWS_WITH(load_xclip_config("/nonexistent/config.json"), Catch::Contains("/nonexistent/config.json"));
}

namespace {

// The published microsoft/xclip-* checkpoints (their model pages, and the reference's conversion script
// that made them): patch size, frames per clip, frame size, and the base or large widths.
struct Checkpoint {
  const char* id;
  int64_t patch, frames, image;
  bool large;
};
const Checkpoint kCheckpoints[] = {
    {"microsoft/xclip-base-patch32", 32, 8, 224, false},
    {"microsoft/xclip-base-patch32-16-frames", 32, 16, 224, false},
    {"microsoft/xclip-base-patch16", 16, 8, 224, false},
    {"microsoft/xclip-base-patch16-16-frames", 16, 16, 224, false},
    {"microsoft/xclip-base-patch16-kinetics-600", 16, 8, 224, false},
    {"microsoft/xclip-base-patch16-kinetics-600-16-frames", 16, 16, 224, false},
    {"microsoft/xclip-base-patch16-zero-shot", 16, 32, 224, false},
    {"microsoft/xclip-base-patch16-hmdb-2-shot", 16, 32, 224, false},
    {"microsoft/xclip-base-patch16-hmdb-4-shot", 16, 32, 224, false},
    {"microsoft/xclip-base-patch16-hmdb-8-shot", 16, 32, 224, false},
    {"microsoft/xclip-base-patch16-hmdb-16-shot", 16, 32, 224, false},
    {"microsoft/xclip-base-patch16-ucf-2-shot", 16, 32, 224, false},
    {"microsoft/xclip-base-patch16-ucf-4-shot", 16, 32, 224, false},
    {"microsoft/xclip-base-patch16-ucf-8-shot", 16, 32, 224, false},
    {"microsoft/xclip-base-patch16-ucf-16-shot", 16, 32, 224, false},
    {"microsoft/xclip-large-patch14", 14, 8, 224, true},
    {"microsoft/xclip-large-patch14-16-frames", 14, 16, 336, true},
    {"microsoft/xclip-large-patch14-kinetics-600", 14, 8, 224, true},
};

// A checkpoint's text and vision sections as the reference's to_dict() writes them: every field, plus the
// generic ones (architectures, dtype, ...) that a reader must pass over.
nlohmann::json sections(const Checkpoint& k, nlohmann::json& vision) {
  nlohmann::json text = {{"vocab_size", 49408}, {"hidden_size", k.large ? 768 : 512},
                         {"intermediate_size", k.large ? 3072 : 2048}, {"num_hidden_layers", 12},
                         {"num_attention_heads", k.large ? 12 : 8}, {"max_position_embeddings", 77},
                         {"hidden_act", "quick_gelu"}, {"layer_norm_eps", 1e-05}, {"attention_dropout", 0.0},
                         {"dropout", 0.0}, {"initializer_range", 0.02}, {"initializer_factor", 1.0},
                         {"pad_token_id", 1}, {"bos_token_id", 0}, {"eos_token_id", 2},
                         {"model_type", "xclip_text_model"}, {"architectures", nullptr}, {"torch_dtype", nullptr},
                         {"transformers_version", "4.22.0.dev0"}, {"bad_words_ids", nullptr}};
  vision = {{"hidden_size", k.large ? 1024 : 768}, {"intermediate_size", k.large ? 4096 : 3072},
            {"num_hidden_layers", k.large ? 24 : 12}, {"num_attention_heads", k.large ? 16 : 12},
            {"mit_hidden_size", k.large ? 768 : 512}, {"mit_intermediate_size", k.large ? 3072 : 2048},
            {"mit_num_hidden_layers", 1}, {"mit_num_attention_heads", 8}, {"num_channels", 3},
            {"image_size", k.image}, {"patch_size", k.patch}, {"num_frames", k.frames}, {"hidden_act", "quick_gelu"},
            {"layer_norm_eps", 1e-05}, {"attention_dropout", 0.0}, {"dropout", 0.0}, {"initializer_range", 0.02},
            {"initializer_factor", 1.0}, {"drop_path_rate", 0.0}, {"model_type", "xclip_vision_model"},
            {"id2label", {{"0", "LABEL_0"}}}};
  return text;
}

}  // namespace

TEST_CASE("every microsoft/xclip-* config.json shape loads with its checkpoint's geometry", "[model]") {
  for (const auto& k : kCheckpoints) {
    nlohmann::json vision;
    const nlohmann::json text = sections(k, vision);
    nlohmann::json top = {{"architectures", {"XCLIPModel"}}, {"model_type", "xclip"},
                          {"projection_dim", k.large ? 768 : 512}, {"prompt_layers", 2}, {"prompt_alpha", 0.1},
                          {"prompt_hidden_act", "quick_gelu"}, {"prompt_num_attention_heads", 8},
                          {"prompt_attention_dropout", 0.0}, {"prompt_projection_dropout", 0.0},
                          {"logit_scale_init_value", 2.6592}, {"initializer_factor", 1.0}, {"torch_dtype", "float32"}};
    // Today's form; the 2022 form the hub files were saved in (both sections and both *_config_dict); and
    // the *_config_dict alone.
    nlohmann::json modern = top, legacy = top, dict_only = top;
    modern["text_config"] = text;
    modern["vision_config"] = vision;
    legacy["text_config"] = text;
    legacy["vision_config"] = vision;
    legacy["text_config_dict"] = text;
    legacy["vision_config_dict"] = vision;
    dict_only["text_config_dict"] = text;
    dict_only["vision_config_dict"] = vision;
    for (const auto& [form, json] : {std::pair{"text_config", modern}, {"*_config_dict beside *_config", legacy}, {"*_config_dict", dict_only}}) {
      INFO(k.id << " in the " << form << " form");
      const XCLIPConfig c = parse_xclip_config(json.dump(), k.id);
      CHECK(c.vision_config.patch_size == k.patch);
      CHECK(c.vision_config.num_frames == k.frames);
      CHECK(c.vision_config.image_size == k.image);
      CHECK(c.vision_config.hidden_size == (k.large ? 1024 : 768));
      CHECK(c.vision_config.num_hidden_layers == (k.large ? 24 : 12));
      CHECK(c.vision_config.mit_hidden_size == c.projection_dim);
      CHECK(c.text_config.hidden_size == (k.large ? 768 : 512));
      CHECK(c.text_config.num_attention_heads == (k.large ? 12 : 8));
      CHECK(c.projection_dim == (k.large ? 768 : 512));
      CHECK(c.prompt_layers == 2);
    }
  }
}

TEST_CASE("a partial *_config_dict is completed with the defaults, as the reference does", "[model]") {
  // XCLIPConfig applies XCLIPTextConfig(**text_config_dict).to_dict() over text_config: a field the dict
  // leaves out takes the default, even where text_config sets it.
  const XCLIPConfig c = parse_xclip_config(
      R"({"text_config": {"hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072},
          "text_config_dict": {"intermediate_size": 1024},
          "vision_config": {"num_frames": 16, "image_size": 336}, "vision_config_dict": {"patch_size": 16}})",
      "cfg");
  CHECK(c.text_config.intermediate_size == 1024);
  CHECK(c.text_config.hidden_size == 512);
  CHECK(c.text_config.num_attention_heads == 8);
  CHECK(c.vision_config.patch_size == 16);
  CHECK(c.vision_config.num_frames == 8);
  CHECK(c.vision_config.image_size == 224);
}
