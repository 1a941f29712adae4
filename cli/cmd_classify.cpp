// `xsearch classify VIDEO --labels "a,b,c"`: zero-shot classification as the reference does it.
#include <fmt/core.h>

#include <algorithm>
#include <numeric>
#include <sstream>

#include "cli/arg_checks.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/full_exec.hpp"
#include "xsearch/classify.hpp"
#include "xsearch/model_resolution.hpp"

namespace xsearch::cli {

namespace {

struct ClassifyArgs {
  std::string video, labels, model, device = "auto", dtype = "float32";
  double window = 4.0, stride = 0.0;
  bool json = false, per_clip = false;
  int threads = 0;
};

#ifdef XSEARCH_FULL
std::vector<std::string> split_labels(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

int run_classify(const ClassifyArgs& a) {
  ClassifyOptions o;
  o.video = a.video;
  o.labels = split_labels(a.labels);
  o.model_dir = resolve_model_dir(resolve_model(a.model));
  o.device = a.device;
  o.dtype = a.dtype;
  o.per_clip = a.per_clip;
  o.window = a.window;
  o.stride = a.stride;
  o.threads = a.threads;
  const ClassifyResult r = classify(o);
  if (a.json) {
    nlohmann::ordered_json j = {{"video", r.video}, {"labels", r.labels}};
    if (a.per_clip) {
      nlohmann::ordered_json clips = nlohmann::ordered_json::array();
      for (const auto& c : r.clips) clips.push_back({{"start", c.start}, {"end", c.end}, {"probs", c.probs}, {"logits", c.logits}});
      j["clips"] = clips;
    } else {
      j["probs"] = r.clips[0].probs;
      j["logits"] = r.clips[0].logits;
    }
    write_json(j);
    return 0;
  }
  for (const auto& c : r.clips) {
    if (a.per_clip) write_stdout(fmt::format("{}-{}\n", format_time(c.start), format_time(c.end)));
    std::vector<std::size_t> order(r.labels.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return c.probs[x] > c.probs[y]; });
    for (std::size_t i : order) write_stdout(fmt::format("{:6.2f}%  {:8.3f}  {}\n", 100 * c.probs[i], c.logits[i], r.labels[i]));
  }
  return 0;
}
#endif

}  // namespace

void add_classify_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ClassifyArgs>();
  CLI::App* cmd = app.add_subcommand("classify", "Zero-shot classification of a video among labels");
  cmd->add_option("video", a->video, "Video file")->required();
  cmd->add_option("--labels", a->labels, "Comma-separated labels, e.g. \"playing sports,eating spaghetti\"")->required();
  cmd->add_option("--model", a->model, "Model folder or hub id (default: $XSEARCH_MODEL)");
  cmd->add_option("--device", a->device, "auto, cpu, cuda or cuda:N")
      ->envname("XSEARCH_DEVICE");
  cmd->add_option("--dtype", a->dtype, "float32 (default), float16 or bfloat16 (CUDA only), or auto");
  cmd->add_flag("--per-clip", a->per_clip, "Classify each clip instead of the whole video");
  cmd->add_option("--window", a->window, "Clip length in seconds, with --per-clip");
  cmd->add_option("--stride", a->stride, "Seconds between clip starts, with --per-clip (default: the window)");
  cmd->add_option("--threads", a->threads, "Model threads (default: all cores)");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([a, &run] {
    require_above("--window", a->window, 0.0);  // a readable range (CLI11's PositiveNumber printed 300 digits)
    run = [a] { return XSEARCH_FULL_ONLY(run_classify(*a)); };
  });
}

}  // namespace xsearch::cli
