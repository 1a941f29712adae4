// config.json parsing: every field, the reference defaults, the legacy *_config_dict form, clear errors.
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
  CHECK_THROWS_WITH(parse_xclip_config(R"({"text_config": {"hidden_size": 100, "num_attention_heads": 8}})", "c"),
                    Catch::Contains("text_config.num_attention_heads: does not divide"));
  CHECK_THROWS_WITH(parse_xclip_config(R"({"model_type": "clip"})", "c"), Catch::Contains("not \"xclip\""));
  CHECK_THROWS_WITH(parse_xclip_config(R"({"prompt_hidden_act": "swish9"})", "c"), Catch::Contains("unsupported activation"));
  CHECK_THROWS_WITH(parse_xclip_config(R"({"vision_config": {"patch_size": 0}})", "c"), Catch::Contains("must be positive"));
  CHECK_THROWS_WITH(load_xclip_config("/nonexistent/config.json"), Catch::Contains("/nonexistent/config.json"));
}
