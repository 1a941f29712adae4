#include "xsearch/dev.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "xsearch/error.hpp"
#include "xsearch/safetensors.hpp"
#include "xsearch/xclip_torch.hpp"

namespace xsearch {

void dev_forward(const std::filesystem::path& model_dir, const std::filesystem::path& inputs_path,
                 const std::filesystem::path& out_path, bool interpolate, int threads,
                 const std::string& device) {
  ModelOptions options;
  options.device = device;
  options.threads = threads;
  const Model model = Model::load(model_dir, options);
  auto& m = torch_module(model);
  const SafetensorsFile inputs(inputs_path);
  auto input = [&](const char* name) {
    if (!inputs.find(name)) throw Error(inputs_path.string() + ": no tensor named \"" + name + "\"");
    return to_tensor(inputs.read(name), m.logit_scale.device());  // where the model is
  };
  c10::InferenceMode guard;
  try {
    const torch::Tensor ids = input("input_ids").to(at::kLong);
    const torch::Tensor mask = input("attention_mask").to(at::kLong);
    const torch::Tensor pixels = input("pixel_values").to(at::kFloat);
    const model::XCLIPOutput out = m.forward(ids, pixels, mask, false, interpolate);
    const auto& video = out.video;
    NamedTensors tensors = {
        {"text_embeds_raw", to_host(out.text_embeds_raw)},
        {"video_embeds_raw", to_host(video.mit_output.pooler_output)},
        {"text_last_hidden", to_host(out.text_model_output.last_hidden_state)},
        {"text_pooled", to_host(out.text_model_output.pooler_output)},
        {"vision_last_hidden", to_host(video.vision_model_output.last_hidden_state)},
        {"vision_pooled", to_host(video.vision_model_output.pooler_output)},
        {"frame_embeds", to_host(video.frame_embeds)},
        {"mit_last_hidden", to_host(video.mit_output.last_hidden_state)},
        {"mit_pooled", to_host(video.mit_output.pooler_output)},
        {"prompt_visual_features", to_host(video.prompt_visual_features)},
        {"text_embeds_prompted", to_host(out.text_embeds_prompted)},
        {"text_embeds", to_host(out.text_embeds)},
        {"video_embeds", to_host(out.video_embeds)},
        {"logits_per_video", to_host(out.logits_per_video)},
        {"logits_per_text", to_host(out.logits_per_text)},
        {"logit_scale_exp", to_host(m.logit_scale.exp())},
    };
    if (inputs.find("input_ids_pair")) {
      const torch::Tensor ids_pair = input("input_ids_pair").to(at::kLong);
      const torch::Tensor mask_pair =
          inputs.find("attention_mask_pair") ? input("attention_mask_pair").to(at::kLong) : at::ones_like(ids_pair);
      // The pair shares the videos: reuse their encoding instead of running the vision tower again.
      model::XCLIPOutput pair;
      const torch::Tensor text_raw = m.get_text_features(ids_pair, mask_pair);
      pair.logits_per_video =
          m.logits_from_features(text_raw, video.mit_output.pooler_output, video.prompt_visual_features, &pair);
      const torch::Tensor logits_per_text = pair.logits_per_video.t();
      tensors.push_back({"text_embeds_pair", to_host(pair.text_embeds)});
      tensors.push_back({"video_embeds_pair", to_host(pair.video_embeds)});
      tensors.push_back({"logits_per_video_pair", to_host(pair.logits_per_video)});
      tensors.push_back({"logits_per_text_pair", to_host(logits_per_text)});
      if (logits_per_text.size(0) == logits_per_text.size(1)) {
        const torch::Tensor loss = model::x_clip_loss(logits_per_text);
        tensors.push_back({"loss_pair", to_host(loss)});
        tensors.push_back({"loss", to_host(loss)});
      }
    }
    write_safetensors(out_path, tensors, {{"format", "pt"}, {"model", model_dir.string()}});
  } catch (const c10::Error& e) {
    throw Error(inputs_path.string() + ": " + e.what_without_backtrace());
  }
}

}  // namespace xsearch
