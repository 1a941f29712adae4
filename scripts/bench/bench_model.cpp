// Model benchmark: video clips/s at several batch sizes, text query latency, load time and peak RSS, and in
// the same run a plain matmul's GFLOP/s, so that the model's speed also reads as a fraction of what the
// machine's BLAS reaches. Uses a random checkpoint of base-patch32's layout unless --model is given.
// `--quantize int8` also loads the model a second time with the vision tower's linear layers in dynamic
// int8 and reports, batch by batch, both speeds (measured alternately, so that a neighbour's load on the
// machine hits both alike) and the cosine of each video's embeddings to float32's; `--inputs FILE` takes
// the pixel_values of a safetensors file (e.g. tests/fixtures/xclip-tiny/inputs.safetensors) instead of
// random pixels, for that cosine on real fixture inputs.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include "xsearch/model.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/xclip_torch.hpp"
#include "model/int8_linear.h"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

// Multiply-adds of one clip through the vision tower, the MIT and the prompt tokens, counted from the
// config (matmuls and attention products only; norms and activations are a few percent more).
double clip_macs(const xsearch::XCLIPConfig& c) {
  const auto& v = c.vision_config;
  const double D = v.hidden_size, I = v.intermediate_size, F = v.num_frames;
  const double grid = v.image_size / v.patch_size, P = grid * grid, n = P + 1, n1 = n + 1;
  double per_frame = P * v.num_channels * v.patch_size * v.patch_size * D;  // patch embedding
  double layer = D * D                       // message_fc
                 + 4 * D * D + 2 * F * D     // message_attn (per frame's token)
                 + 4 * n1 * D * D + 2 * n1 * n1 * D  // self_attn with the message token
                 + 2 * n * D * I;            // mlp
  per_frame += v.num_hidden_layers * layer + D * c.projection_dim + P * D * c.projection_dim;
  const double M = v.mit_hidden_size;
  const double mit = v.mit_num_hidden_layers * (F * (4 * M * M + 2 * M * v.mit_intermediate_size) + 2 * F * F * M);
  return F * per_frame + mit;
}

// Per video, the cosine of a's [B, ...] rows to b's; the lowest of the batch.
double min_cosine(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.flatten(1).to(at::kDouble), y = b.flatten(1).to(at::kDouble);
  return (at::cosine_similarity(x, y, 1)).min().item<double>();
}

long peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, device = "cpu", dtype = "float32", quantize, inputs_file;
  int threads = 0, iters = 3;
  std::vector<int> batches = {1, 4, 8};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model_dir = next();
    else if (a == "--device") device = next();
    else if (a == "--dtype") dtype = next();
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--iters") iters = std::stoi(next());
    else if (a == "--quantize") quantize = next();
    else if (a == "--inputs") inputs_file = next();
    else if (a == "--batches") {
      batches.clear();
      std::string s = next();
      for (std::size_t p = 0; p < s.size();) {
        const std::size_t q = s.find(',', p);
        batches.push_back(std::stoi(s.substr(p, q - p)));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: %s [--model DIR] [--device cpu|cuda] [--dtype float32|float16] [--threads N] [--iters N] "
                   "[--batches 1,4,8] [--quantize int8] [--inputs FILE]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!quantize.empty() && quantize != "int8") {
    std::fprintf(stderr, "--quantize: only int8 is measured\n");
    return 2;
  }
  // Without --model, or with a --model folder that does not exist yet, write a random checkpoint of
  // base-patch32's layout (kept when --model names it, so that later runs skip this step).
  std::filesystem::path tmp;
  if (model_dir.empty()) {
    tmp = std::filesystem::temp_directory_path() / ("xsearch-bench-" + std::to_string(::getpid()));
    model_dir = tmp.string();
  }
  if (!std::filesystem::exists(std::filesystem::path(model_dir) / "config.json")) {
    std::fprintf(stderr, "writing a random base-patch32 checkpoint to %s\n", model_dir.c_str());
    xsearch::write_random_checkpoint(model_dir, xsearch::parse_xclip_config("{}", "defaults"), 0, xsearch::DType::F32);
  }
  xsearch::ModelOptions options;
  options.device = device;
  options.dtype = dtype;
  options.threads = threads;
  // Load twice: the first read fills the page cache, the second is what a user sees on later runs.
  xsearch::Model::load(model_dir, options);
  xsearch::Model model = xsearch::Model::load(model_dir, options);
  const auto& config = model.config();
  const torch::Device dev = xsearch::torch_device(model);
  auto& m = xsearch::torch_module(model);
  std::optional<xsearch::Model> quantized;
  if (!quantize.empty()) {
    quantized.emplace(xsearch::Model::load(model_dir, options));
    try {
      xsearch::torch_module(*quantized).vision_model->encoder->quantize_int8();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "--quantize int8: %s\n", e.what());
      return 1;
    }
    std::printf("int8: vision encoder's q, k, v and MLP linears (out_proj and message layers in float32), engine %s\n",
                xsearch::model::Int8DynamicLinear::engine().c_str());
  }
  const at::ScalarType type = m.logit_scale.scalar_type();
  std::printf("machine: %u hardware threads, intra-op threads %d, device %s, dtype %s\n",
              std::thread::hardware_concurrency(), at::get_num_threads(), model.device().c_str(), model.dtype().c_str());
  std::printf("model: %s\n", model_dir.c_str());
  std::printf("load (page cache warm): %.3f s\n", model.load_seconds());

  c10::InferenceMode guard;
  // A plain matmul of the size of the vision MLP for one 8-frame clip: [F*50, D] x [D, 4D].
  const auto& v = config.vision_config;
  const int64_t M = v.num_frames * ((v.image_size / v.patch_size) * (v.image_size / v.patch_size) + 1);
  const int64_t K = v.hidden_size, N = v.intermediate_size;
  const auto opts = at::TensorOptions().dtype(type).device(dev);
  const at::Tensor a = at::randn({M, K}, opts), b = at::randn({K, N}, opts);
  auto matmul_gflops_now = [&] {
    at::matmul(a, b);
    sync(dev);
    int reps = 0;
    const auto start = clock_type::now();
    while (seconds_since(start) < 2.0 || reps < 5) {
      at::matmul(a, b);
      ++reps;
    }
    sync(dev);
    return 2.0 * M * K * N * reps / seconds_since(start) / 1e9;
  };
  // Measured before and after the model, keeping the higher: the ratio below is then the conservative one.
  double matmul_gflops = matmul_gflops_now();
  auto t0 = clock_type::now();

  const double gflop_per_clip = 2.0 * clip_macs(config) / 1e9;
  std::printf("one clip: %.1f GFLOP (multiply-adds counted twice)\n", gflop_per_clip);
  std::vector<std::pair<int, double>> rows;
  at::Tensor given_pixels;
  if (!inputs_file.empty()) {
    const xsearch::SafetensorsFile file(inputs_file);
    given_pixels = xsearch::to_tensor(file.read("pixel_values"), dev).to(type);
    batches = {static_cast<int>(given_pixels.size(0))};
  }
  for (int batch : batches) {
    const at::Tensor pixels = given_pixels.defined()
                                  ? given_pixels
                                  : at::randn({batch, v.num_frames, v.num_channels, v.image_size, v.image_size}, opts);
    const auto reference = m.encode_video(pixels, true);  // also the warm-up
    sync(dev);
    if (!quantized) {
      t0 = clock_type::now();
      for (int i = 0; i < iters; ++i) m.encode_video(pixels, true);
      sync(dev);
      rows.emplace_back(batch, batch * iters / seconds_since(t0));
      continue;
    }
    auto& q = xsearch::torch_module(*quantized);
    const auto int8 = q.encode_video(pixels, true);
    double float_s = 0, int8_s = 0;
    for (int i = 0; i < iters; ++i) {
      t0 = clock_type::now();
      m.encode_video(pixels, true);
      float_s += seconds_since(t0);
      t0 = clock_type::now();
      q.encode_video(pixels, true);
      int8_s += seconds_since(t0);
    }
    rows.emplace_back(batch, batch * iters / float_s);
    std::printf("batch %d: float32 %.3f clips/s, int8 %.3f clips/s, int8/float32 %.3fx; lowest cosine to float32: "
                "video embeds %.6f, prompt tokens %.6f, frame embeds %.6f\n",
                batch, batch * iters / float_s, batch * iters / int8_s, float_s / int8_s,
                min_cosine(int8.mit_output.pooler_output, reference.mit_output.pooler_output),
                min_cosine(int8.prompt_visual_features, reference.prompt_visual_features),
                min_cosine(int8.frame_embeds.flatten(0, 1), reference.frame_embeds.flatten(0, 1)));
  }

  // A 5-token query: bos, three words, eos (CLIP's ids: skipped for a test model's smaller vocabulary).
  const bool clip_vocabulary = config.text_config.vocab_size > 49407;
  const at::Tensor ids = at::tensor({49406, 4371, 18440, 320, 49407}, at::TensorOptions().dtype(at::kLong)).view({1, 5}).to(dev);
  const at::Tensor mask = at::ones_like(ids);
  if (clip_vocabulary) m.get_text_features(ids, mask);
  std::vector<double> times;
  for (int i = 0; i < 50 && clip_vocabulary; ++i) {
    t0 = clock_type::now();
    m.get_text_features(ids, mask);
    sync(dev);
    times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  matmul_gflops = std::max(matmul_gflops, matmul_gflops_now());
  std::printf("matmul [%lld x %lld] x [%lld x %lld]: %.1f GFLOP/s (best of before and after)\n", (long long)M,
              (long long)K, (long long)K, (long long)N, matmul_gflops);
  std::printf("%-8s %-10s %-12s %-14s %s\n", "batch", "clips/s", "ms/clip", "GFLOP/s", "of matmul");
  for (const auto& [batch, clips_per_s] : rows)
    std::printf("%-8d %-10.2f %-12.1f %-14.1f %.2f\n", batch, clips_per_s, 1000.0 / clips_per_s,
                clips_per_s * gflop_per_clip, clips_per_s * gflop_per_clip / matmul_gflops);
  if (clip_vocabulary)
    std::printf("text query (5 tokens): median %.2f ms, p90 %.2f ms\n", times[times.size() / 2] * 1e3,
                times[times.size() * 9 / 10] * 1e3);
  std::printf("peak RSS: %ld MB\n", peak_rss_mb());
  if (!tmp.empty()) std::filesystem::remove_all(tmp);
  return 0;
}
