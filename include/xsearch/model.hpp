// The X-CLIP model behind a LibTorch-free interface: load a Hugging Face model folder, then compute text
// and video features, X-CLIP's exact (prompted) logits, and the towers' outputs. Tensors cross this
// interface as HostTensor (float32 or int64, row-major); shapes are given per function.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "xsearch/config.hpp"
#include "xsearch/host_tensor.hpp"

namespace xsearch {

// Which weights to read. A query only needs the text tower (a quarter of base-patch32's weights).
enum class ModelParts { All, Text, Video };

struct ModelOptions {
  // "auto" (CUDA when this LibTorch has it and a GPU is present, else the CPU), "cpu", "cuda" or "cuda:N".
  std::string device = "auto";
  // "float32"; "float16" and "bfloat16" on CUDA only; "auto": float16 on CUDA, float32 on the CPU.
  std::string dtype = "float32";
  // Intra-op threads; 0 means all cores.
  int threads = 0;
  ModelParts parts = ModelParts::All;
};

// A tower's outputs, as the reference's BaseModelOutputWithPooling. hidden_states (embeddings, then every
// layer) and attentions (one [N, heads, L, L] per layer) are filled only when asked for.
struct TowerOutput {
  HostTensor last_hidden_state;
  HostTensor pooler_output;
  std::vector<HostTensor> hidden_states;
  std::vector<HostTensor> attentions;
};

struct VideoFeatures {
  HostTensor embeds;         // get_video_features: [B, D], not normalised
  HostTensor prompt_tokens;  // [B, P, D] visual tokens for the prompt generator; empty unless asked for
};

struct ForwardResult {
  HostTensor logits_per_video;  // [B, T]
  HostTensor logits_per_text;   // [T, B]
  HostTensor text_embeds;       // [B, T, D] normalised, prompted per video
  HostTensor video_embeds;      // [B, D] normalised
  HostTensor loss;              // [] when asked for (needs T == B), else empty
};

class Model {
 public:
  // Reads DIR/config.json and DIR/model.safetensors (or DIR/pytorch_model.bin, converted once: see
  // xsearch/checkpoint.hpp). Throws xsearch::Error naming the file and the cause.
  static Model load(const std::filesystem::path& dir, const ModelOptions& options = {});
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const XCLIPConfig& config() const;
  const std::filesystem::path& directory() const;
  std::string device() const;  // "cpu", "cuda:0", ...
  std::string dtype() const;
  double load_seconds() const;
  // exp(logit_scale): logits are this times a cosine similarity.
  double logit_scale() const;

  // input_ids, attention_mask: int64 [T, L] -> [T, D]
  HostTensor text_features(const HostTensor& input_ids, const HostTensor& attention_mask) const;
  // pixel_values: float32 [B, F, C, H, W] -> embeds [B, D] (+ prompt tokens [B, P, D])
  VideoFeatures video_features(const HostTensor& pixel_values, bool with_prompt_tokens = false,
                               bool interpolate_pos_encoding = false) const;
  // X-CLIP's exact logits from stored features: text [T, D] x videos (embeds [B, D] with prompt tokens
  // [B, P, D]) -> logits_per_video [B, T]. Equal to forward()'s logits_per_video for the same inputs.
  HostTensor logits(const HostTensor& text_features, const VideoFeatures& videos) const;
  // The reference's full forward.
  ForwardResult forward(const HostTensor& input_ids, const HostTensor& attention_mask, const HostTensor& pixel_values,
                        bool return_loss = false, bool interpolate_pos_encoding = false) const;
  // The towers alone, as XCLIPTextModel / XCLIPVisionModel. vision_model takes frames [N, C, H, W], N a
  // multiple of num_frames.
  TowerOutput text_model(const HostTensor& input_ids, const HostTensor& attention_mask, bool output_hidden_states = false,
                         bool output_attentions = false) const;
  TowerOutput vision_model(const HostTensor& pixel_values, bool output_hidden_states = false,
                           bool output_attentions = false, bool interpolate_pos_encoding = false) const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes DIR/config.json and DIR/model.safetensors: an X-CLIP of `config`'s layout with random weights of
// sensible scale (for tests and benchmarks). `dtype` is F32, F16 or BF16.
void write_random_checkpoint(const std::filesystem::path& dir, const XCLIPConfig& config, uint64_t seed = 0,
                             DType dtype = DType::F32);

}  // namespace xsearch
