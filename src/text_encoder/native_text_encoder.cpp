#include "text_encoder/native_text_encoder.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "io/half_float.hpp"
#include "xsearch/checkpoint.hpp"
#include "xsearch/error.hpp"
#include "xsearch/safetensors.hpp"

namespace xsearch {

namespace {

// A weight matrix or vector: in place in the mapping when it is F32 and aligned, else converted.
struct Weight {
  const float* data = nullptr;
  std::vector<float> owned;
  std::vector<int64_t> shape;
};

struct Layer {
  Weight ln1_w, ln1_b, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b;
};

void layer_norm(float* x, int64_t rows, int64_t dim, const Weight& w, const Weight& b, double eps) {
  for (int64_t r = 0; r < rows; ++r) {
    float* v = x + r * dim;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < dim; ++i) mean += v[i];
    mean /= dim;
    for (int64_t i = 0; i < dim; ++i) var += (v[i] - mean) * (v[i] - mean);
    var /= dim;
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < dim; ++i) v[i] = static_cast<float>((v[i] - mean) * inv * w.data[i] + b.data[i]);
  }
}

// out[rows, out_dim] = x[rows, in_dim] W^T + b, W: [out_dim, in_dim] (the checkpoint's nn.Linear layout).
void linear(const float* x, int64_t rows, const Weight& w, const Weight* b, float* out) {
  const int64_t out_dim = w.shape[0], in_dim = w.shape[1];
  for (int64_t r = 0; r < rows; ++r)
    if (b) std::memcpy(out + r * out_dim, b->data, out_dim * sizeof(float));
    else std::fill(out + r * out_dim, out + (r + 1) * out_dim, 0.0f);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(out_dim),
              static_cast<int>(in_dim), 1.0f, x, static_cast<int>(in_dim), w.data, static_cast<int>(in_dim), 1.0f, out,
              static_cast<int>(out_dim));
}

// The reference's ACT2FN for the names config validation allows, applied in place.
void activate(const std::string& act, std::vector<float>& values) {
  if (act == "quick_gelu") {
    for (float& x : values) x = x / (1.0f + std::exp(-1.702f * x));
  } else if (act == "gelu") {
    for (float& x : values) x = 0.5f * x * (1.0f + std::erf(x / std::sqrt(2.0f)));
  } else if (act == "gelu_new" || act == "gelu_pytorch_tanh") {
    for (float& x : values) x = 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
  } else if (act == "relu") {
    for (float& x : values) x = x > 0 ? x : 0;
  } else {  // silu
    for (float& x : values) x = x / (1.0f + std::exp(-x));
  }
}

}  // namespace

struct NativeTextEncoder::Impl {
  XCLIPConfig config;
  std::unique_ptr<SafetensorsFile> file;
  Weight token_embedding, position_embedding, final_w, final_b, projection;
  std::vector<Layer> layers;

  Weight weight(const std::string& name, std::vector<int64_t> shape) const {
    const TensorInfo* info = file->find(name);
    if (!info) throw Error(file->path().string() + ": missing tensor \"" + name + "\"");
    if (info->shape != shape)
      throw Error(file->path().string() + ": tensor \"" + name + "\" has shape " + shape_to_string(info->shape) +
                  ", expected " + shape_to_string(shape));
    Weight w;
    w.shape = std::move(shape);
    const uint8_t* bytes = file->data(*info);
    if (info->dtype == DType::F32 && reinterpret_cast<uintptr_t>(bytes) % alignof(float) == 0) {
      file->prefetch(*info);
      w.data = reinterpret_cast<const float*>(bytes);
      return w;
    }
    HostTensor t;
    t.dtype = info->dtype;
    t.shape = info->shape;
    t.bytes.assign(bytes, bytes + (info->end - info->begin));
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16 && t.dtype != DType::F64)
      throw Error(file->path().string() + ": tensor \"" + name + "\": " + dtype_name(t.dtype) + " is not a weight");
    w.owned = t.to_float();
    w.data = w.owned.data();
    return w;
  }
};

NativeTextEncoder::NativeTextEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NativeTextEncoder::NativeTextEncoder(NativeTextEncoder&&) noexcept = default;
NativeTextEncoder& NativeTextEncoder::operator=(NativeTextEncoder&&) noexcept = default;
NativeTextEncoder::~NativeTextEncoder() = default;
const XCLIPConfig& NativeTextEncoder::config() const { return impl_->config; }

NativeTextEncoder NativeTextEncoder::load(const std::filesystem::path& dir) {
  auto m = std::make_unique<Impl>();
  m->config = load_xclip_config(dir / "config.json");
  m->file = std::make_unique<SafetensorsFile>(model_weights_file(dir));
  const auto& t = m->config.text_config;
  const int64_t H = t.hidden_size, I = t.intermediate_size;
  const std::string p = "text_model.";
  m->token_embedding = m->weight(p + "embeddings.token_embedding.weight", {t.vocab_size, H});
  m->position_embedding = m->weight(p + "embeddings.position_embedding.weight", {t.max_position_embeddings, H});
  for (int64_t l = 0; l < t.num_hidden_layers; ++l) {
    const std::string q = p + "encoder.layers." + std::to_string(l) + ".";
    Layer L;
    L.ln1_w = m->weight(q + "layer_norm1.weight", {H});
    L.ln1_b = m->weight(q + "layer_norm1.bias", {H});
    L.q_w = m->weight(q + "self_attn.q_proj.weight", {H, H});
    L.q_b = m->weight(q + "self_attn.q_proj.bias", {H});
    L.k_w = m->weight(q + "self_attn.k_proj.weight", {H, H});
    L.k_b = m->weight(q + "self_attn.k_proj.bias", {H});
    L.v_w = m->weight(q + "self_attn.v_proj.weight", {H, H});
    L.v_b = m->weight(q + "self_attn.v_proj.bias", {H});
    L.o_w = m->weight(q + "self_attn.out_proj.weight", {H, H});
    L.o_b = m->weight(q + "self_attn.out_proj.bias", {H});
    L.ln2_w = m->weight(q + "layer_norm2.weight", {H});
    L.ln2_b = m->weight(q + "layer_norm2.bias", {H});
    L.fc1_w = m->weight(q + "mlp.fc1.weight", {I, H});
    L.fc1_b = m->weight(q + "mlp.fc1.bias", {I});
    L.fc2_w = m->weight(q + "mlp.fc2.weight", {H, I});
    L.fc2_b = m->weight(q + "mlp.fc2.bias", {H});
    m->layers.push_back(std::move(L));
  }
  m->final_w = m->weight(p + "final_layer_norm.weight", {H});
  m->final_b = m->weight(p + "final_layer_norm.bias", {H});
  m->projection = m->weight("text_projection.weight", {m->config.projection_dim, H});
  return NativeTextEncoder(std::move(m));
}

std::vector<float> NativeTextEncoder::encode(const std::vector<int64_t>& ids, std::vector<float>* last_hidden) const {
  const Impl& m = *impl_;
  const auto& t = m.config.text_config;
  const int64_t H = t.hidden_size, I = t.intermediate_size, heads = t.num_attention_heads, hd = H / heads;
  const int64_t L = static_cast<int64_t>(ids.size());
  if (L == 0) throw Error("text encoder: empty token sequence");
  if (L > t.max_position_embeddings)
    throw Error("text of " + std::to_string(L) + " tokens is longer than max_position_embeddings " + std::to_string(t.max_position_embeddings));
  std::vector<float> x(static_cast<std::size_t>(L * H));
  for (int64_t i = 0; i < L; ++i) {
    if (ids[i] < 0 || ids[i] >= t.vocab_size)
      throw Error("token id " + std::to_string(ids[i]) + " is outside the vocabulary of " + std::to_string(t.vocab_size));
    for (int64_t d = 0; d < H; ++d) x[i * H + d] = m.token_embedding.data[ids[i] * H + d] + m.position_embedding.data[i * H + d];
  }
  std::vector<float> h(x.size()), q(x.size()), k(x.size()), v(x.size()), ctx(x.size()), mid(static_cast<std::size_t>(L * I)),
      scores(static_cast<std::size_t>(L));
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  for (const Layer& layer : m.layers) {
    h = x;
    layer_norm(h.data(), L, H, layer.ln1_w, layer.ln1_b, t.layer_norm_eps);
    linear(h.data(), L, layer.q_w, &layer.q_b, q.data());
    linear(h.data(), L, layer.k_w, &layer.k_b, k.data());
    linear(h.data(), L, layer.v_w, &layer.v_b, v.data());
    for (float& e : q) e *= scale;
    // Causal attention per head: query i sees keys 0..i (a single unpadded text needs no padding mask).
    for (int64_t head = 0; head < heads; ++head)
      for (int64_t i = 0; i < L; ++i) {
        float top = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j <= i; ++j) {
          float s = 0;
          for (int64_t d = 0; d < hd; ++d) s += q[i * H + head * hd + d] * k[j * H + head * hd + d];
          scores[j] = s;
          top = std::max(top, s);
        }
        double sum = 0;
        for (int64_t j = 0; j <= i; ++j) sum += (scores[j] = std::exp(scores[j] - top));
        for (int64_t d = 0; d < hd; ++d) {
          double acc = 0;
          for (int64_t j = 0; j <= i; ++j) acc += scores[j] * v[j * H + head * hd + d];
          ctx[i * H + head * hd + d] = static_cast<float>(acc / sum);
        }
      }
    linear(ctx.data(), L, layer.o_w, &layer.o_b, h.data());
    for (std::size_t e = 0; e < x.size(); ++e) x[e] += h[e];
    h = x;
    layer_norm(h.data(), L, H, layer.ln2_w, layer.ln2_b, t.layer_norm_eps);
    linear(h.data(), L, layer.fc1_w, &layer.fc1_b, mid.data());
    activate(t.hidden_act, mid);
    linear(mid.data(), L, layer.fc2_w, &layer.fc2_b, h.data());
    for (std::size_t e = 0; e < x.size(); ++e) x[e] += h[e];
  }
  layer_norm(x.data(), L, H, m.final_w, m.final_b, t.layer_norm_eps);
  if (last_hidden) *last_hidden = x;
  // Pooled at the first largest id (the first EOS), as the reference's input_ids.argmax(-1).
  const int64_t pos = std::max_element(ids.begin(), ids.end()) - ids.begin();
  std::vector<float> out(static_cast<std::size_t>(m.config.projection_dim));
  linear(x.data() + pos * H, 1, m.projection, nullptr, out.data());
  return out;
}

}  // namespace xsearch
