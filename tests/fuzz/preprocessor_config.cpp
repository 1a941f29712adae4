// Fuzz target: preprocessor_config.json parsing (PreprocessorConfig::parse in src/video/preprocess.cpp),
// then what the parsed values drive: the output size for a few frame shapes and, when it is small, the
// preprocessing of a small frame. Bad input must end in xsearch::Error.
#include <string>
#include <vector>

#include "xsearch/error.hpp"
#include "xsearch/video.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = xsearch::PreprocessorConfig::parse(text, "preprocessor_config.json");
    // Frame shapes: square, landscape, portrait, and the smallest ones.
    const int shapes[][2] = {{32, 32}, {48, 20}, {20, 48}, {1, 1}, {2, 1}};
    for (const auto& s : shapes) {
      const auto [w, h] = xsearch::preprocessed_size(s[0], s[1], config);
      // Running the preprocessing is only affordable on small outputs (a config may ask for any size).
      if (w <= 0 || h <= 0 || w > 256 || h > 256 || config.shortest_edge > 256) continue;
      xsearch::RgbFrame frame;
      frame.width = s[0];
      frame.height = s[1];
      frame.rgb.resize(static_cast<std::size_t>(s[0]) * s[1] * 3);
      for (std::size_t i = 0; i < frame.rgb.size(); ++i) frame.rgb[i] = static_cast<uint8_t>(i * 37);
      std::vector<float> out;
      xsearch::preprocess_frame(frame, config, out);
    }
  } catch (const xsearch::Error&) {
  }
  return 0;
}
