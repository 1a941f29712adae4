// The reference processor's steps for one frame: resize the shortest edge (PIL), center crop (zero padding
// when the crop is larger), rescale and normalise, channels first. And preprocessor_config.json.
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "xsearch/error.hpp"
#include "xsearch/video.hpp"

namespace xsearch {

namespace {

int size_value(const nlohmann::json& v, const char* key, const std::string& source, const char* field) {
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_object() && v.contains(key) && v[key].is_number_integer()) return v[key].get<int>();
  throw Error(source + ": " + field + ": expected an integer or an object with \"" + key + "\"");
}

}  // namespace

PreprocessorConfig PreprocessorConfig::parse(const std::string& json_text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": invalid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  PreprocessorConfig c;
  auto flag = [&](const char* k, bool& out) {
    if (j.contains(k) && j[k].is_boolean()) out = j[k].get<bool>();
  };
  flag("do_resize", c.do_resize);
  flag("do_center_crop", c.do_center_crop);
  flag("do_rescale", c.do_rescale);
  flag("do_normalize", c.do_normalize);
  if (j.contains("size") && !j["size"].is_null()) {
    const auto& s = j["size"];
    if (s.is_object() && !s.contains("shortest_edge") && s.contains("height"))
      c.shortest_edge = s["height"].get<int>();  // {height, width}: treated as the shortest edge target
    else
      c.shortest_edge = size_value(s, "shortest_edge", source, "size");
  }
  if (j.contains("crop_size") && !j["crop_size"].is_null()) {
    const auto& s = j["crop_size"];
    c.crop_height = size_value(s, "height", source, "crop_size");
    c.crop_width = s.is_object() ? size_value(s, "width", source, "crop_size") : c.crop_height;
  } else {
    // The reference's default crop equals its default size (224), not the configured size.
    c.crop_height = c.crop_width = 224;
  }
  if (j.contains("resample") && j["resample"].is_number_integer()) c.resample = j["resample"].get<int>();
  if (c.resample != 2 && c.resample != 3) throw Error(source + ": resample " + std::to_string(c.resample) + " is not supported (2 bilinear, 3 bicubic)");
  if (j.contains("rescale_factor") && j["rescale_factor"].is_number()) c.rescale_factor = j["rescale_factor"].get<double>();
  auto triple = [&](const char* k, std::vector<double>& out) {
    if (!j.contains(k) || j[k].is_null()) return;
    if (!j[k].is_array() || j[k].size() != 3) throw Error(source + ": " + k + ": expected three numbers");
    out = j[k].get<std::vector<double>>();
  };
  triple("image_mean", c.image_mean);
  triple("image_std", c.image_std);
  if (c.shortest_edge <= 0 || c.crop_height <= 0 || c.crop_width <= 0) throw Error(source + ": sizes must be positive");
  for (double s : c.image_std)
    if (s == 0) throw Error(source + ": image_std has a zero");
  return c;
}

PreprocessorConfig PreprocessorConfig::load(const std::filesystem::path& model_dir) {
  const auto p = model_dir / "preprocessor_config.json";
  if (!std::filesystem::exists(p)) return PreprocessorConfig{};
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return parse(s.str(), p.string());
}

namespace {

// (width, height) after the resize step: the shorter side becomes shortest_edge, the longer
// int(shortest_edge * long / short).
std::pair<int, int> resized_size(int w, int h, const PreprocessorConfig& c) {
  if (!c.do_resize) return {w, h};
  const bool wide = w > h;
  const int short_side = wide ? h : w, long_side = wide ? w : h;
  const int new_short = c.shortest_edge;
  const int new_long = static_cast<int>(static_cast<double>(new_short) * long_side / short_side);
  return {wide ? new_long : new_short, wide ? new_short : new_long};
}

}  // namespace

std::pair<int, int> preprocessed_size(int width, int height, const PreprocessorConfig& c) {
  if (c.do_center_crop) return {c.crop_height, c.crop_width};
  const auto [w, h] = resized_size(width, height, c);
  return {h, w};
}

void preprocess_frame(const RgbFrame& frame, const PreprocessorConfig& c, std::vector<float>& out) {
  int w = frame.width, h = frame.height;
  std::vector<uint8_t> resized;
  const uint8_t* img = frame.rgb.data();
  if (c.do_resize) {
    const auto [nw, nh] = resized_size(w, h, c);
    resized = pil_resize(img, w, h, nw, nh, c.resample);
    img = resized.data();
    w = nw;
    h = nh;
  }
  int top = 0, left = 0, ch = h, cw = w, pad_top = 0, pad_left = 0, out_h = h, out_w = w;
  if (c.do_center_crop) {
    ch = c.crop_height;
    cw = c.crop_width;
    top = (h - ch) / 2;  // Python's // floors: differs from C++ division for negatives
    if (h - ch < 0 && (h - ch) % 2) top -= 1;
    left = (w - cw) / 2;
    if (w - cw < 0 && (w - cw) % 2) left -= 1;
    if (top < 0 || left < 0 || top + ch > h || left + cw > w) {
      // Zero padding around the image, as the reference's center_crop does.
      const int nh = std::max(ch, h), nw = std::max(cw, w);
      pad_top = static_cast<int>(std::ceil((nh - h) / 2.0));
      pad_left = static_cast<int>(std::ceil((nw - w) / 2.0));
      top += pad_top;
      left += pad_left;
      top = std::max(0, top);
      left = std::max(0, left);
    }
    out_h = ch;
    out_w = cw;
  }
  const std::size_t base = out.size();
  out.resize(base + static_cast<std::size_t>(3) * out_h * out_w);
  float* dst = out.data() + base;
  for (int channel = 0; channel < 3; ++channel) {
    const double mean = c.do_normalize ? c.image_mean[channel] : 0.0;
    const double std_dev = c.do_normalize ? c.image_std[channel] : 1.0;
    const double scale = c.do_rescale ? c.rescale_factor : 1.0;
    for (int y = 0; y < out_h; ++y) {
      const int sy = y + top - pad_top;  // row in the resized image
      for (int x = 0; x < out_w; ++x) {
        const int sx = x + left - pad_left;
        const double v = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? img[(static_cast<std::size_t>(sy) * w + sx) * 3 + channel] : 0.0;
        dst[(static_cast<std::size_t>(channel) * out_h + y) * out_w + x] = static_cast<float>((v * scale - mean) / std_dev);
      }
    }
  }
}

std::vector<ClipWindow> plan_clips(double start, double end, int num_frames, const ClipWindowOptions& o) {
  if (!(o.window > 0) || !(o.stride > 0)) throw Error("clip window and stride must be positive seconds");
  if (num_frames <= 0) throw Error("a clip needs at least one frame");
  std::vector<ClipWindow> clips;
  auto make = [&](double s, double e) {
    ClipWindow w;
    w.start = s;
    w.end = e;
    for (int i = 0; i < num_frames; ++i) w.target_times.push_back(s + (i + 0.5) * (e - s) / num_frames);
    clips.push_back(std::move(w));
  };
  if (!(end > start)) return clips;
  if (end - start <= o.window) {
    make(start, end);
    return clips;
  }
  for (int64_t k = 0;; ++k) {
    const double s = start + static_cast<double>(k) * o.stride;
    if (s >= end - 1e-9) break;
    const double e = std::min(s + o.window, end);
    // 10 ms of slack: containers with millisecond timestamps (Matroska) end a 6 s video at 5.999 s.
    if (e - s < o.window - 1e-9 && e - s < o.min_last_fraction * o.window - 0.01 && !clips.empty()) break;
    make(s, e);
    if (e >= end) break;
  }
  return clips;
}

ClipWindow whole_video_clip(const VideoInfo& info, int num_frames) {
  ClipWindowOptions o;
  o.window = o.stride = std::max(info.duration(), 1e-6);
  auto clips = plan_clips(info.start, info.end, num_frames, o);
  if (clips.empty()) throw Error(info.path.string() + ": the video has no duration");
  return clips.front();
}

}  // namespace xsearch
