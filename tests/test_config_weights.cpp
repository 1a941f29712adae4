// config.json against the weights before the model is built (issue 25, row 12): an absurd size is one
// clear line naming config.json and the key, never a LibTorch allocation failure with a backtrace.
#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "xsearch/error.hpp"
#include "xsearch/model.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
namespace fs = std::filesystem;

namespace {

// The tiny full model with one config.json value replaced (the weights are linked, not copied).
fs::path model_with(const test::TempDir& tmp, const std::string& section, const std::string& key, const nlohmann::json& value) {
  const fs::path src = fixtures_dir() / "xclip-tiny-full";
  const fs::path dst = tmp / "model";
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(src))
    if (e.path().filename() != "config.json") fs::create_symlink(e.path(), dst / e.path().filename());
  auto config = nlohmann::json::parse(test::read_file(src / "config.json"));
  (section.empty() ? config : config[section])[key] = value;
  test::write_file(dst / "config.json", config.dump(2));
  return dst;
}

std::string load_error(const fs::path& dir) {
  ModelOptions o;
  o.device = "cpu";
  try {
    Model::load(dir, o);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("config.json sizes that the weights do not have are refused before the model is built", "[model]") {
  struct Case {
    std::string section, key;
    nlohmann::json value;
    std::string says;
  };
  // 2e8 as the config wrote it (a float: read as the integer 200000000). The old loader asked
  // LibTorch for 200000000 x 64 floats per layer (51 GB) before it compared a single shape. The small
  // values show the same check where the old loader failed later, naming a tensor but not the key.
  const std::vector<Case> cases = {
      {"text_config", "intermediate_size", 2e8, "text_config.intermediate_size is 200000000, but model.safetensors has text_model.encoder.layers.0.mlp.fc1.weight [128, 64]"},
      {"text_config", "intermediate_size", 129, "text_config.intermediate_size is 129"},
      {"vision_config", "intermediate_size", 4096, "vision_config.intermediate_size is 4096"},
      {"text_config", "vocab_size", 1000000000, "text_config.vocab_size is 1000000000"},
      {"text_config", "num_hidden_layers", 40, "text_config.num_hidden_layers is 40, but model.safetensors holds 2 of them"},
      {"vision_config", "mit_num_hidden_layers", 3, "vision_config.mit_num_hidden_layers is 3"},
      {"vision_config", "image_size", 2240000, "vision_config.image_size is 2240000"},
      {"vision_config", "num_frames", 100000, "vision_config.num_frames is 100000"},
      {"", "prompt_layers", 50, "prompt_layers is 50"},
  };
  for (const auto& c : cases) {
    INFO(c.section << "." << c.key << " = " << c.value.dump());
    test::TempDir tmp;
    const std::string msg = load_error(model_with(tmp, c.section, c.key, c.value));
    CHECK_THAT(msg, Catch::StartsWith((tmp / "model" / "config.json").string() + ": ") && Catch::Contains(c.says) &&
                        Catch::Contains("config.json does not match the weights"));
    CHECK(msg.find('\n') == std::string::npos);  // one line
  }
}

TEST_CASE("the tiny model's own config.json passes the check against its weights", "[model]") {
  test::TempDir tmp;
  const fs::path dir = model_with(tmp, "", "projection_dim", 32);  // the value it has
  ModelOptions o;
  o.device = "cpu";
  CHECK_NOTHROW(Model::load(dir, o));
}
