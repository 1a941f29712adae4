// xsearch classify: zero-shot classification, exactly the reference XCLIPModel forward followed by a
// softmax over logits_per_video. Without per_clip the whole video is one clip.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace xsearch {

struct ClassifyOptions {
  std::filesystem::path video;
  std::vector<std::string> labels;
  std::filesystem::path model_dir;
  std::string device = "auto";
  // float32 unless told: a handful of clips, where the reference's probabilities matter more than speed.
  std::string dtype = "float32";
  bool per_clip = false;
  double window = 4.0, stride = 0.0;
  int threads = 0;
};

struct ClassifiedClip {
  double start = 0, end = 0;
  std::vector<double> probs, logits;  // one per label
};

struct ClassifyResult {
  std::string video;
  std::vector<std::string> labels;
  std::vector<ClassifiedClip> clips;  // one without per_clip
};

ClassifyResult classify(const ClassifyOptions& options);

}  // namespace xsearch
