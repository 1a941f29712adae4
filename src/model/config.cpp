#include "xsearch/config.hpp"

#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "xsearch/error.hpp"

namespace xsearch {

namespace {

using nlohmann::json;

// Reads one field if present, checking its JSON type; `where` is the dotted path for messages.
struct FieldReader {
  const json& object;
  std::string prefix;
  std::string source;

  [[noreturn]] void bad(const std::string& key, const std::string& cause) const {
    throw Error(source + ": " + prefix + key + ": " + cause);
  }
  void get(const char* key, int64_t& out) const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return;
    if (!it->is_number_integer()) {
      // Some writers store integral values as 8.0.
      // The range check comes first: converting a double outside int64's range is undefined (fuzzing
      // found 1e+30), and 2^63 itself is out of range.
      const double v = it->is_number_float() ? it->get<double>() : 0.5;
      if (v >= -9223372036854775808.0 && v < 9223372036854775808.0 && v == std::trunc(v)) {
        out = static_cast<int64_t>(v);
        return;
      }
      bad(key, "expected an integer, got " + it->dump());
    }
    out = it->get<int64_t>();
  }
  void get(const char* key, double& out) const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return;
    if (!it->is_number()) bad(key, "expected a number, got " + it->dump());
    out = it->get<double>();
  }
  void get(const char* key, std::string& out) const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return;
    if (!it->is_string()) bad(key, "expected a string, got " + it->dump());
    out = it->get<std::string>();
  }
};

void read_text(const FieldReader& r, XCLIPTextConfig& c) {
  r.get("vocab_size", c.vocab_size);
  r.get("hidden_size", c.hidden_size);
  r.get("intermediate_size", c.intermediate_size);
  r.get("num_hidden_layers", c.num_hidden_layers);
  r.get("num_attention_heads", c.num_attention_heads);
  r.get("max_position_embeddings", c.max_position_embeddings);
  r.get("hidden_act", c.hidden_act);
  r.get("layer_norm_eps", c.layer_norm_eps);
  r.get("attention_dropout", c.attention_dropout);
  r.get("initializer_range", c.initializer_range);
  r.get("initializer_factor", c.initializer_factor);
  r.get("pad_token_id", c.pad_token_id);
  r.get("bos_token_id", c.bos_token_id);
  r.get("eos_token_id", c.eos_token_id);
}

void read_vision(const FieldReader& r, XCLIPVisionConfig& c) {
  r.get("hidden_size", c.hidden_size);
  r.get("intermediate_size", c.intermediate_size);
  r.get("num_hidden_layers", c.num_hidden_layers);
  r.get("num_attention_heads", c.num_attention_heads);
  r.get("mit_hidden_size", c.mit_hidden_size);
  r.get("mit_intermediate_size", c.mit_intermediate_size);
  r.get("mit_num_hidden_layers", c.mit_num_hidden_layers);
  r.get("mit_num_attention_heads", c.mit_num_attention_heads);
  r.get("num_channels", c.num_channels);
  r.get("image_size", c.image_size);
  r.get("patch_size", c.patch_size);
  r.get("num_frames", c.num_frames);
  r.get("hidden_act", c.hidden_act);
  r.get("layer_norm_eps", c.layer_norm_eps);
  r.get("attention_dropout", c.attention_dropout);
  r.get("initializer_range", c.initializer_range);
  r.get("initializer_factor", c.initializer_factor);
  r.get("drop_path_rate", c.drop_path_rate);
}

void read_sub(const json& root, const char* key, const std::string& source,
              const std::function<void(const FieldReader&)>& read) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return;
  if (!it->is_object()) throw Error(source + ": " + key + ": expected an object");
  read(FieldReader{*it, std::string(key) + ".", source});
}

const std::set<std::string> kActivations = {"quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu"};

void validate(const XCLIPConfig& c, const std::string& source) {
  auto require = [&](bool ok, const std::string& field, const std::string& cause) {
    if (!ok) throw Error(source + ": " + field + ": " + cause);
  };
  auto positive = [&](int64_t v, const std::string& field) { require(v > 0, field, "must be positive, got " + std::to_string(v)); };
  const auto& t = c.text_config;
  const auto& v = c.vision_config;
  positive(t.vocab_size, "text_config.vocab_size");
  positive(t.hidden_size, "text_config.hidden_size");
  positive(t.intermediate_size, "text_config.intermediate_size");
  require(t.num_hidden_layers >= 0, "text_config.num_hidden_layers", "must not be negative");
  positive(t.num_attention_heads, "text_config.num_attention_heads");
  positive(t.max_position_embeddings, "text_config.max_position_embeddings");
  require(t.hidden_size % t.num_attention_heads == 0, "text_config.num_attention_heads",
          "does not divide hidden_size " + std::to_string(t.hidden_size));
  positive(v.hidden_size, "vision_config.hidden_size");
  positive(v.intermediate_size, "vision_config.intermediate_size");
  require(v.num_hidden_layers >= 0, "vision_config.num_hidden_layers", "must not be negative");
  positive(v.num_attention_heads, "vision_config.num_attention_heads");
  require(v.hidden_size % v.num_attention_heads == 0, "vision_config.num_attention_heads",
          "does not divide hidden_size " + std::to_string(v.hidden_size));
  positive(v.mit_hidden_size, "vision_config.mit_hidden_size");
  positive(v.mit_intermediate_size, "vision_config.mit_intermediate_size");
  require(v.mit_num_hidden_layers >= 0, "vision_config.mit_num_hidden_layers", "must not be negative");
  positive(v.mit_num_attention_heads, "vision_config.mit_num_attention_heads");
  require(v.mit_hidden_size % v.mit_num_attention_heads == 0, "vision_config.mit_num_attention_heads",
          "does not divide mit_hidden_size " + std::to_string(v.mit_hidden_size));
  positive(v.num_channels, "vision_config.num_channels");
  positive(v.patch_size, "vision_config.patch_size");
  positive(v.image_size, "vision_config.image_size");
  require(v.image_size >= v.patch_size, "vision_config.image_size", "is smaller than patch_size");
  positive(v.num_frames, "vision_config.num_frames");
  positive(c.projection_dim, "projection_dim");
  require(c.prompt_layers >= 0, "prompt_layers", "must not be negative");
  positive(c.prompt_num_attention_heads, "prompt_num_attention_heads");
  require(c.projection_dim % c.prompt_num_attention_heads == 0, "prompt_num_attention_heads",
          "does not divide projection_dim " + std::to_string(c.projection_dim));
  // The MIT adds the projected frame embeddings to its own width: the two must agree.
  require(v.mit_hidden_size == c.projection_dim, "vision_config.mit_hidden_size",
          "must equal projection_dim " + std::to_string(c.projection_dim));
  require(kActivations.count(t.hidden_act), "text_config.hidden_act", "unsupported activation \"" + t.hidden_act + "\"");
  require(kActivations.count(v.hidden_act), "vision_config.hidden_act", "unsupported activation \"" + v.hidden_act + "\"");
  require(kActivations.count(c.prompt_hidden_act), "prompt_hidden_act", "unsupported activation \"" + c.prompt_hidden_act + "\"");
}

}  // namespace

XCLIPConfig parse_xclip_config(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(source + ": invalid JSON (" + e.what() + ")");
  }
  if (!root.is_object()) throw Error(source + ": expected a JSON object");
  auto model_type = root.find("model_type");
  if (model_type != root.end() && model_type->is_string() && *model_type != "xclip")
    throw Error(source + ": model_type is \"" + model_type->get<std::string>() + "\", not \"xclip\"");

  XCLIPConfig c;
  FieldReader top{root, "", source};
  top.get("projection_dim", c.projection_dim);
  top.get("prompt_layers", c.prompt_layers);
  top.get("prompt_alpha", c.prompt_alpha);
  top.get("prompt_hidden_act", c.prompt_hidden_act);
  top.get("prompt_num_attention_heads", c.prompt_num_attention_heads);
  top.get("prompt_attention_dropout", c.prompt_attention_dropout);
  top.get("prompt_projection_dropout", c.prompt_projection_dropout);
  top.get("logit_scale_init_value", c.logit_scale_init_value);
  top.get("initializer_factor", c.initializer_factor);
  // As in the reference: text_config first, then the legacy *_config_dict on top of it. The reference
  // completes a *_config_dict with the defaults before applying it (XCLIPTextConfig(**d).to_dict()), so a
  // field the dict leaves out takes its default, not text_config's value.
  read_sub(root, "text_config", source, [&](const FieldReader& r) { read_text(r, c.text_config); });
  read_sub(root, "text_config_dict", source, [&](const FieldReader& r) {
    c.text_config = XCLIPTextConfig{};
    read_text(r, c.text_config);
  });
  read_sub(root, "vision_config", source, [&](const FieldReader& r) { read_vision(r, c.vision_config); });
  read_sub(root, "vision_config_dict", source, [&](const FieldReader& r) {
    c.vision_config = XCLIPVisionConfig{};
    read_vision(r, c.vision_config);
  });
  validate(c, source);
  return c;
}

XCLIPConfig load_xclip_config(const std::filesystem::path& config_json) {
  std::ifstream in(config_json, std::ios::binary);
  if (!in) throw Error(config_json.string() + ": cannot open (is this a model folder?)");
  std::stringstream text;
  text << in.rdbuf();
  return parse_xclip_config(text.str(), config_json.string());
}

std::string xclip_config_to_json(const XCLIPConfig& c) {
  const auto& t = c.text_config;
  const auto& v = c.vision_config;
  json j = {
      {"architectures", {"XCLIPModel"}},
      {"model_type", "xclip"},
      {"projection_dim", c.projection_dim},
      {"prompt_layers", c.prompt_layers},
      {"prompt_alpha", c.prompt_alpha},
      {"prompt_hidden_act", c.prompt_hidden_act},
      {"prompt_num_attention_heads", c.prompt_num_attention_heads},
      {"prompt_attention_dropout", c.prompt_attention_dropout},
      {"prompt_projection_dropout", c.prompt_projection_dropout},
      {"logit_scale_init_value", c.logit_scale_init_value},
      {"initializer_factor", c.initializer_factor},
      {"text_config",
       {{"vocab_size", t.vocab_size}, {"hidden_size", t.hidden_size}, {"intermediate_size", t.intermediate_size},
        {"num_hidden_layers", t.num_hidden_layers}, {"num_attention_heads", t.num_attention_heads},
        {"max_position_embeddings", t.max_position_embeddings}, {"hidden_act", t.hidden_act},
        {"layer_norm_eps", t.layer_norm_eps}, {"attention_dropout", t.attention_dropout},
        {"initializer_range", t.initializer_range}, {"initializer_factor", t.initializer_factor},
        {"pad_token_id", t.pad_token_id}, {"bos_token_id", t.bos_token_id}, {"eos_token_id", t.eos_token_id},
        {"model_type", "xclip_text_model"}}},
      {"vision_config",
       {{"hidden_size", v.hidden_size}, {"intermediate_size", v.intermediate_size},
        {"num_hidden_layers", v.num_hidden_layers}, {"num_attention_heads", v.num_attention_heads},
        {"mit_hidden_size", v.mit_hidden_size}, {"mit_intermediate_size", v.mit_intermediate_size},
        {"mit_num_hidden_layers", v.mit_num_hidden_layers}, {"mit_num_attention_heads", v.mit_num_attention_heads},
        {"num_channels", v.num_channels}, {"image_size", v.image_size}, {"patch_size", v.patch_size},
        {"num_frames", v.num_frames}, {"hidden_act", v.hidden_act}, {"layer_norm_eps", v.layer_norm_eps},
        {"attention_dropout", v.attention_dropout}, {"initializer_range", v.initializer_range},
        {"initializer_factor", v.initializer_factor}, {"drop_path_rate", v.drop_path_rate},
        {"model_type", "xclip_vision_model"}}},
  };
  return j.dump(2);
}

}  // namespace xsearch
