// config.json against the checkpoint's tensors (model/config_weights.hpp).
#include "model/config_weights.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "xsearch/error.hpp"

namespace xsearch::model {

namespace {

struct Checker {
  const SafetensorsFile& weights;
  std::string config_name;

  [[noreturn]] void mismatch(const std::string& key, int64_t value, const std::string& what) const {
    throw Error(config_name + ": " + key + " is " + std::to_string(value) + ", but " + weights.path().filename().string() + " " + what +
                " (config.json does not match the weights)");
  }

  // `key` (= value) is dimension `dim` of `tensor`; a tensor that is absent is the loader's to report.
  void dim(const std::string& key, int64_t value, const std::string& tensor, std::size_t dim) const {
    const TensorInfo* t = weights.find(tensor);
    if (!t) return;
    if (dim >= t->shape.size() || t->shape[dim] != value) mismatch(key, value, "has " + tensor + " " + shape_to_string(t->shape));
  }

  // `key` counts the layers named PREFIX.N.*: the file must hold at least that many (more is reported by
  // the loader as unexpected tensors).
  void layers(const std::string& key, int64_t value, const std::string& prefix) const {
    int64_t count = 0;
    for (const auto& t : weights.tensors()) {
      if (t.name.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = t.name.substr(prefix.size());
      const auto dot = rest.find('.');
      if (dot == 0 || dot == std::string::npos || dot > 6) continue;
      const auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
      if (!std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(dot), digit)) continue;
      count = std::max<int64_t>(count, std::stoll(rest.substr(0, dot)) + 1);
    }
    if (count < value) mismatch(key, value, "holds " + std::to_string(count) + " of them (" + prefix + "N)");
  }
};

}  // namespace

void check_config_against_weights(const XCLIPConfig& c, const SafetensorsFile& weights, const std::filesystem::path& config_json) {
  const Checker k{weights, config_json.string()};
  const auto& t = c.text_config;
  const auto& v = c.vision_config;
  // Layer counts first: a config with more layers than the file would build them all before failing.
  k.layers("text_config.num_hidden_layers", t.num_hidden_layers, "text_model.encoder.layers.");
  k.layers("vision_config.num_hidden_layers", v.num_hidden_layers, "vision_model.encoder.layers.");
  k.layers("vision_config.mit_num_hidden_layers", v.mit_num_hidden_layers, "mit.encoder.layers.");
  k.layers("prompt_layers", c.prompt_layers, "prompts_generator.decoder.");

  k.dim("text_config.vocab_size", t.vocab_size, "text_model.embeddings.token_embedding.weight", 0);
  k.dim("text_config.hidden_size", t.hidden_size, "text_model.embeddings.token_embedding.weight", 1);
  k.dim("text_config.max_position_embeddings", t.max_position_embeddings, "text_model.embeddings.position_embedding.weight", 0);
  if (t.num_hidden_layers > 0) k.dim("text_config.intermediate_size", t.intermediate_size, "text_model.encoder.layers.0.mlp.fc1.weight", 0);

  k.dim("vision_config.hidden_size", v.hidden_size, "vision_model.embeddings.patch_embedding.weight", 0);
  k.dim("vision_config.num_channels", v.num_channels, "vision_model.embeddings.patch_embedding.weight", 1);
  k.dim("vision_config.patch_size", v.patch_size, "vision_model.embeddings.patch_embedding.weight", 2);
  // One position per patch and the class token: image_size decides how many.
  const int64_t side = v.image_size / v.patch_size;  // both positive (validated with the config)
  if (side <= 3037000000) {  // side * side + 1 fits int64_t (the square root of 2^63 is 3.037e9)
    const TensorInfo* pos = weights.find("vision_model.embeddings.position_embedding.weight");
    if (pos && (pos->shape.empty() || pos->shape[0] != side * side + 1))
      k.mismatch("vision_config.image_size", v.image_size, "has vision_model.embeddings.position_embedding.weight " + shape_to_string(pos->shape));
  } else {
    k.mismatch("vision_config.image_size", v.image_size, "cannot hold that many patch positions");
  }
  if (v.num_hidden_layers > 0)
    k.dim("vision_config.intermediate_size", v.intermediate_size, "vision_model.encoder.layers.0.mlp.fc1.weight", 0);
  k.dim("vision_config.num_frames", v.num_frames, "mit.position_embedding", 1);
  k.dim("vision_config.mit_hidden_size", v.mit_hidden_size, "mit.position_embedding", 2);
  if (v.mit_num_hidden_layers > 0)
    k.dim("vision_config.mit_intermediate_size", v.mit_intermediate_size, "mit.encoder.layers.0.mlp.fc1.weight", 0);
  k.dim("projection_dim", c.projection_dim, "text_projection.weight", 0);
  k.dim("projection_dim", c.projection_dim, "visual_projection.weight", 0);
}

}  // namespace xsearch::model
