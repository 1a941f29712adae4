// XCLIPConfig as in the reference's configuration_x_clip.py: every field, with the reference defaults
// (which are microsoft/xclip-base-patch32's sizes) for fields a config.json leaves out.
#pragma once

#include <filesystem>
#include <string>

namespace xsearch {

struct XCLIPTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 512;
  int64_t intermediate_size = 2048;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 8;
  int64_t max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  double attention_dropout = 0.0;
  double initializer_range = 0.02;
  double initializer_factor = 1.0;
  int64_t pad_token_id = 1;
  int64_t bos_token_id = 0;
  int64_t eos_token_id = 2;
};

struct XCLIPVisionConfig {
  int64_t hidden_size = 768;
  int64_t intermediate_size = 3072;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t mit_hidden_size = 512;
  int64_t mit_intermediate_size = 2048;
  int64_t mit_num_hidden_layers = 1;
  int64_t mit_num_attention_heads = 8;
  int64_t num_channels = 3;
  int64_t image_size = 224;
  int64_t patch_size = 32;
  int64_t num_frames = 8;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  double attention_dropout = 0.0;
  double initializer_range = 0.02;
  double initializer_factor = 1.0;
  double drop_path_rate = 0.0;
};

struct XCLIPConfig {
  XCLIPTextConfig text_config;
  XCLIPVisionConfig vision_config;
  int64_t projection_dim = 512;
  int64_t prompt_layers = 2;
  double prompt_alpha = 0.1;
  std::string prompt_hidden_act = "quick_gelu";
  int64_t prompt_num_attention_heads = 8;
  double prompt_attention_dropout = 0.0;
  double prompt_projection_dropout = 0.0;
  double logit_scale_init_value = 2.6592;
  double initializer_factor = 1.0;
};

// Parses a config.json text. `source` names the file in error messages. Also reads the older form with
// `text_config_dict` / `vision_config_dict` (which, as in the reference, take precedence). Throws
// xsearch::Error("source: field: cause") on a wrong type or an impossible value (for example a hidden size
// that the number of heads does not divide).
XCLIPConfig parse_xclip_config(const std::string& json_text, const std::string& source);
XCLIPConfig load_xclip_config(const std::filesystem::path& config_json);
// The config as JSON (the reference's field names), e.g. for writing a test checkpoint folder.
std::string xclip_config_to_json(const XCLIPConfig& config);

}  // namespace xsearch
