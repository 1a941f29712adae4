// The public Model: device and dtype choice, loading, and HostTensor in and out of the torch module.
#include <malloc.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include "model/checkpoint_loader.h"
#include "model/config_weights.hpp"
#include "xsearch/checkpoint.hpp"
#include "xsearch/error.hpp"
#include "xsearch/xclip_torch.hpp"

namespace xsearch {

struct Model::Impl {
  std::filesystem::path dir;
  XCLIPConfig config;
  model::XCLIPModel module{nullptr};
  torch::Device device{torch::kCPU};
  at::ScalarType dtype = at::kFloat;
  ModelParts parts = ModelParts::All;
  double load_seconds = 0;

  void require(ModelParts needed, const char* what) const {
    if (parts != ModelParts::All && parts != needed)
      throw Error(std::string(what) + ": this model was loaded without that tower");
  }
  torch::Tensor input(const HostTensor& t) const {
    torch::Tensor x = to_tensor(t, device);
    return x.is_floating_point() ? x.to(dtype) : x;
  }
  torch::Tensor ids(const HostTensor& t, const char* name) const {
    if (t.dtype != DType::I64 && t.dtype != DType::I32)
      throw Error(std::string(name) + " must be an integer tensor, got " + dtype_name(t.dtype));
    if (t.shape.size() != 2) throw Error(std::string(name) + " must be [texts, tokens], got " + t.shape_string());
    return to_tensor(t, device).to(at::kLong);
  }
};

namespace {

torch::Device choose_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("device \"" + name + "\": this LibTorch has no CUDA or no GPU is visible (use --device cpu)");
    try {
      torch::Device d(name);
      if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
        throw Error("device \"" + name + "\": only " + std::to_string(torch::cuda::device_count()) + " GPU(s)");
      return d.has_index() ? d : torch::Device(torch::kCUDA, 0);
    } catch (const c10::Error&) {
      throw Error("device \"" + name + "\": not a device name (cpu, cuda, cuda:N)");
    }
  }
  throw Error("device \"" + name + "\": not a device name (auto, cpu, cuda, cuda:N)");
}

at::ScalarType choose_dtype(const std::string& name, const torch::Device& device) {
  at::ScalarType t;
  // auto: float16 on CUDA, where it runs 4.5x faster than float32 at batch 8 on an H200 and keeps the
  // embeddings' cosine to float32 above 0.9999 (tests/test_model_api.cpp); the CPU has only float32.
  if (name == "auto") t = device.is_cuda() ? at::kHalf : at::kFloat;
  else if (name == "float32" || name == "fp32") t = at::kFloat;
  else if (name == "float16" || name == "fp16") t = at::kHalf;
  else if (name == "bfloat16" || name == "bf16") t = at::kBFloat16;
  else throw Error("dtype \"" + name + "\": use auto, float32, float16 or bfloat16");
  if (t != at::kFloat && !device.is_cuda())
    throw Error("dtype \"" + name + "\" is for CUDA only; the CPU computes in float32");
  return t;
}

std::vector<std::string> prefixes_for(ModelParts parts) {
  switch (parts) {
    case ModelParts::Text: return {"text_model.", "text_projection."};
    case ModelParts::Video:
      return {"vision_model.", "visual_projection.", "mit.", "prompts_visual_layernorm.", "prompts_visual_projection"};
    case ModelParts::All: break;
  }
  return {};
}

// The forward pass allocates and frees tens of megabytes per layer. glibc hands blocks that large back to the
// kernel at once, and every new one then costs page faults to zero it again (about 10% of a clip's time
// here). Keeping them in the heap removes that cost; memory stays bounded by the largest working set.
void keep_large_allocations_in_heap() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1024 << 20);
    return true;
  }();
  (void)done;
}

TowerOutput tower_to_host(const model::EncoderOutput& e) {
  TowerOutput out;
  out.last_hidden_state = to_host(e.last_hidden_state);
  out.pooler_output = to_host(e.pooler_output);
  for (const auto& h : e.hidden_states) out.hidden_states.push_back(to_host(h));
  for (const auto& a : e.attentions) out.attentions.push_back(to_host(a));
  return out;
}

// Runs `f`, turning LibTorch's own errors (bad shapes that slipped past our checks) into xsearch::Error.
template <typename F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Error(std::string(what) + ": " + e.what_without_backtrace());
  }
}

}  // namespace

torch::Tensor to_tensor(const HostTensor& t, const torch::Device& device) {
  at::ScalarType type;
  switch (t.dtype) {
    case DType::F32: type = at::kFloat; break;
    case DType::F64: type = at::kDouble; break;
    case DType::F16: type = at::kHalf; break;
    case DType::BF16: type = at::kBFloat16; break;
    case DType::I64: type = at::kLong; break;
    case DType::I32: type = at::kInt; break;
    case DType::I16: type = at::kShort; break;
    case DType::I8: type = at::kChar; break;
    case DType::U8: type = at::kByte; break;
    case DType::BOOL: type = at::kBool; break;
    default: throw Error("unsupported tensor dtype");
  }
  // For CUDA the host copy is page-locked, so that the transfer is a DMA that runs while this thread goes
  // on queueing the model's kernels (non_blocking); the stream orders it before them.
  const bool pinned = device.is_cuda();
  torch::Tensor host = at::empty(t.shape, at::TensorOptions().dtype(type).pinned_memory(pinned));
  if (!t.bytes.empty()) std::memcpy(host.data_ptr(), t.bytes.data(), t.bytes.size());
  return device.is_cpu() ? host : host.to(device, /*non_blocking=*/pinned);
}

HostTensor to_host(const torch::Tensor& t_in) {
  torch::Tensor t = t_in.detach().to(torch::kCPU).contiguous();
  HostTensor out;
  if (t.scalar_type() == at::kLong) {
    out.dtype = DType::I64;
  } else if (t.scalar_type() == at::kByte) {
    out.dtype = DType::U8;
  } else {
    t = t.to(at::kFloat);
    out.dtype = DType::F32;
  }
  out.shape.assign(t.sizes().begin(), t.sizes().end());
  out.bytes.resize(static_cast<std::size_t>(t.numel()) * t.element_size());
  if (!out.bytes.empty()) std::memcpy(out.bytes.data(), t.data_ptr(), out.bytes.size());
  return out;
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::load(const std::filesystem::path& dir, const ModelOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  keep_large_allocations_in_heap();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->device = choose_device(options.device);
  impl->dtype = choose_dtype(options.dtype, impl->device);
  impl->parts = options.parts;
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);

  if (!std::filesystem::is_directory(dir)) throw Error(dir.string() + ": not a model folder");
  impl->config = load_xclip_config(dir / "config.json");
  const SafetensorsFile file(model_weights_file(dir));  // converts a pytorch_model.bin once
  // Sizes checked against the weights before the model allocates them (an absurd config would fail in
  // LibTorch's allocator, with a backtrace instead of the key's name).
  model::check_config_against_weights(impl->config, file, dir / "config.json");
  impl->module = model::XCLIPModel(impl->config);
  impl->module->eval();
  model::load_checkpoint(*impl->module, file, prefixes_for(options.parts));
  if (impl->device != torch::Device(torch::kCPU) || impl->dtype != at::kFloat)
    impl->module->to(impl->device, impl->dtype);
  if (impl->device.is_cuda() && impl->dtype == at::kFloat) {
    // float32 means float32: TF32 matmuls and convolutions would move results by about 1e-3.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
  impl->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Model(std::move(impl));
}

const XCLIPConfig& Model::config() const { return impl_->config; }
const std::filesystem::path& Model::directory() const { return impl_->dir; }
std::string Model::device() const { return impl_->device.str(); }
std::string Model::dtype() const {
  return impl_->dtype == at::kFloat ? "float32" : impl_->dtype == at::kHalf ? "float16" : "bfloat16";
}
double Model::load_seconds() const { return impl_->load_seconds; }
double Model::logit_scale() const {
  c10::InferenceMode guard;
  return impl_->module->logit_scale.exp().item<double>();
}

HostTensor Model::text_features(const HostTensor& input_ids, const HostTensor& attention_mask) const {
  impl_->require(ModelParts::Text, "text_features");
  return guarded("text_features", [&] {
    c10::InferenceMode guard;
    return to_host(impl_->module->get_text_features(impl_->ids(input_ids, "input_ids"),
                                                    impl_->ids(attention_mask, "attention_mask")));
  });
}

VideoFeatures Model::video_features(const HostTensor& pixel_values, bool with_prompt_tokens, bool interpolate) const {
  impl_->require(ModelParts::Video, "video_features");
  return guarded("video_features", [&] {
    c10::InferenceMode guard;
    auto enc = impl_->module->encode_video(impl_->input(pixel_values), with_prompt_tokens, interpolate);
    VideoFeatures out;
    out.embeds = to_host(enc.mit_output.pooler_output);
    if (with_prompt_tokens) out.prompt_tokens = to_host(enc.prompt_visual_features);
    return out;
  });
}

HostTensor Model::logits(const HostTensor& text_features, const VideoFeatures& videos) const {
  impl_->require(ModelParts::All, "logits");
  if (videos.prompt_tokens.shape.size() != 3)
    throw Error("logits: the videos' prompt tokens [B, P, D] are needed for X-CLIP's exact score");
  return guarded("logits", [&] {
    c10::InferenceMode guard;
    return to_host(impl_->module->logits_from_features(impl_->input(text_features), impl_->input(videos.embeds),
                                                       impl_->input(videos.prompt_tokens)));
  });
}

ForwardResult Model::forward(const HostTensor& input_ids, const HostTensor& attention_mask,
                             const HostTensor& pixel_values, bool return_loss, bool interpolate) const {
  impl_->require(ModelParts::All, "forward");
  return guarded("forward", [&] {
    c10::InferenceMode guard;
    auto out = impl_->module->forward(impl_->ids(input_ids, "input_ids"), impl_->input(pixel_values),
                                      impl_->ids(attention_mask, "attention_mask"), return_loss, interpolate);
    ForwardResult r;
    r.logits_per_video = to_host(out.logits_per_video);
    r.logits_per_text = to_host(out.logits_per_text);
    r.text_embeds = to_host(out.text_embeds);
    r.video_embeds = to_host(out.video_embeds);
    if (return_loss) r.loss = to_host(out.loss);
    return r;
  });
}

TowerOutput Model::text_model(const HostTensor& input_ids, const HostTensor& attention_mask, bool hidden, bool attentions) const {
  impl_->require(ModelParts::Text, "text_model");
  return guarded("text_model", [&] {
    c10::InferenceMode guard;
    return tower_to_host(impl_->module->text_model(impl_->ids(input_ids, "input_ids"),
                                                   impl_->ids(attention_mask, "attention_mask"), hidden, attentions));
  });
}

TowerOutput Model::vision_model(const HostTensor& pixel_values, bool hidden, bool attentions, bool interpolate) const {
  impl_->require(ModelParts::Video, "vision_model");
  return guarded("vision_model", [&] {
    c10::InferenceMode guard;
    return tower_to_host(impl_->module->vision_model(impl_->input(pixel_values), interpolate, hidden, attentions));
  });
}

model::XCLIPModelImpl& torch_module(const Model& model) { return *model.impl().module; }
torch::Device torch_device(const Model& model) { return model.impl().device; }

}  // namespace xsearch
