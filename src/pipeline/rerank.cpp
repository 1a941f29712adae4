// The exact re-ranker of `query --rerank`: X-CLIP's prompted score from stored features, on LibTorch.
#include "xsearch/model.hpp"
#include "xsearch/query.hpp"

namespace xsearch {

Reranker exact_reranker() {
  return [](const std::filesystem::path& model_dir, const std::vector<float>& text_raw, const std::vector<float>& embeds,
            const std::vector<float>& prompts, int64_t n, int64_t p, int64_t dim, const QueryOptions& o) {
    ModelOptions mo;
    mo.device = o.device;
    mo.threads = o.threads;
    const Model model = Model::load(model_dir, mo);
    VideoFeatures videos;
    videos.embeds = HostTensor::from_f32({n, dim}, embeds);
    videos.prompt_tokens = HostTensor::from_f32({n, p, dim}, prompts);
    const auto logits = model.logits(HostTensor::from_f32({1, dim}, text_raw), videos).to_float();
    // Logits are exp(logit_scale) times a cosine: report the cosine, on the scale of unranked scores.
    const double scale = model.logit_scale();
    std::vector<double> scores;
    for (float l : logits) scores.push_back(l / scale);
    return scores;
  };
}

}  // namespace xsearch
