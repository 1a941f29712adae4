#include "pipeline/query_vector.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "pipeline/like_spec.hpp"
#include "pipeline/query_terms.hpp"
#include "pipeline/vectors.hpp"
#include "text_encoder/native_text_encoder.hpp"
#include "xsearch/error.hpp"
#include "xsearch/fingerprint.hpp"
#include "xsearch/model_resolution.hpp"
#include "xsearch/tokenizer.hpp"

namespace xsearch::pipeline {

namespace {

std::string seconds_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", v);
  return buf;
}

// The clip of `path` at `seconds` (the one that holds it, else the nearest start).
ClipRow clip_at(const Library& library, const LikeSpec& like) {
  const auto video = library.find_video(like.path);
  if (!video || video->status == "failed") {
    if (!like.time_error.empty()) throw Error("--like: " + like.time_error + ", and " + like.path + " is not in the library");
    throw Error(like.path + ": not in the library (--video PATH@TIME searches with a clip of any file)");
  }
  const auto clips = library.clips_of_video(video->id);
  if (clips.empty()) throw Error(like.path + ": no clips in the library");
  const ClipRow* best = &clips.front();
  for (const auto& c : clips)
    if (c.start <= like.seconds && like.seconds < c.end) {
      best = &c;
      break;
    } else if (std::fabs(c.start - like.seconds) < std::fabs(best->start - like.seconds)) {
      best = &c;
    }
  return *best;
}

// The text's terms, each encoded on its own (without LibTorch: NativeTextEncoder), as unit vectors;
// records the longest term's token count and warns about each term cut at the model's length.
std::vector<std::vector<float>> encode_terms(const std::vector<QueryTerm>& terms, const std::filesystem::path& model_dir,
                                             const ModelIdentity& identity, QueryResult& result, std::vector<float>& text_raw,
                                             const std::function<void(const char*)>& phase) {
  const ClipTokenizer tokenizer = ClipTokenizer::load(model_dir);
  phase("load tokenizer");
  const NativeTextEncoder encoder = NativeTextEncoder::load(model_dir);
  phase("load text model");
  if (model_identity(model_dir, encoder.config().projection_dim).fingerprint != identity.fingerprint)
    throw Error(model_dir.string() + ": not the model this library was built with (" + identity.name + ")");
  std::vector<std::vector<float>> units;
  for (const QueryTerm& term : terms) {
    const std::vector<int64_t> words = tokenizer.encode_plain(term.text);
    const std::size_t room = tokenizer.max_length() - 2;  // the start and end tokens take two places
    const int tokens = static_cast<int>(words.size() + 2);
    result.query_tokens = std::max(result.query_tokens, tokens);
    if (words.size() > room) {
      // The model reads max_length tokens: say what it never saw rather than search with part of the text.
      result.truncated = true;
      const std::vector<int64_t> dropped(words.begin() + static_cast<std::ptrdiff_t>(room), words.end());
      std::string lost = tokenizer.decode(dropped, true);
      lost.erase(0, lost.find_first_not_of(' '));
      lost.erase(lost.find_last_not_of(' ') + 1);
      result.warnings.push_back(std::string(terms.size() > 1 ? "a term of the query" : "the query") + " is " + std::to_string(tokens) +
                                " tokens long and the model reads " + std::to_string(tokenizer.max_length()) + ": searched without \"" +
                                lost + "\"");
    }
    std::vector<float> raw = encoder.encode(tokenizer.encode(term.text));
    units.push_back(normalised(raw));
    if (terms.size() == 1 && term.sign > 0) text_raw = std::move(raw);
  }
  phase("encode text");
  return units;
}

// --image FILE or --video PATH[@TIME]: the example embedded by the full pipeline with the library's model.
std::vector<float> embed_example(const QueryOptions& o, const Library& library, const ModelIdentity& identity,
                                 const std::filesystem::path& model_dir, QueryResult& result, const std::function<void(const char*)>& phase) {
  const bool image = !o.image.empty();
  const char* option = image ? "--image" : "--video";
  if (!o.embedder) throw Error(std::string(option) + " needs the full xsearch (with LibTorch and FFmpeg)");
  ExampleRequest request;
  request.model_dir = model_dir;
  request.image = image;
  request.device = o.device;
  request.threads = o.threads;
  LikeSpec spec;
  if (image) {
    spec.path = std::filesystem::absolute(o.image).lexically_normal().string();
  } else {
    spec = parse_like(o.video, option);
    std::error_code ec;
    if (!spec.time_error.empty() && !std::filesystem::exists(spec.path, ec))
      throw Error("--video: " + spec.time_error + ", and " + spec.path + ": no such file");
    request.seconds = spec.seconds;
    std::tie(request.window, request.stride) = library_clip_rule(library);
  }
  request.path = spec.path;
  const ExampleEmbedding e = o.embedder(request);
  if (e.fingerprint != identity.fingerprint)
    throw Error(model_dir.string() + ": not the model this library was built with (" + identity.name + ")");
  result.example = {image ? "image" : "video", spec.path, e.start, e.end, 1};
  if (!image && spec.seconds >= e.end)
    result.warnings.push_back(spec.path + ": " + seconds_text(spec.seconds) + " is past its end (" + seconds_text(e.duration) +
                              "): searched with its last clip");
  phase("embed example");
  return normalised(e.embedding);
}

}  // namespace

std::pair<double, double> library_clip_rule(const Library& library) {
  double longest = 0;
  int looked = 0;
  for (const auto& v : library.videos()) {
    if (v.status == "failed") continue;
    if (++looked > 100) break;
    const auto clips = library.clips_of_video(v.id);
    if (clips.size() >= 2) return {clips[0].end - clips[0].start, clips[1].start - clips[0].start};
    for (const auto& c : clips) longest = std::max(longest, c.end - c.start);
  }
  return longest > 0 ? std::make_pair(longest, longest) : std::make_pair(4.0, 4.0);
}

QueryVector build_query_vector(const QueryOptions& o, const Library& library, const ModelIdentity& identity, QueryResult& result,
                               const std::function<void(const char*)>& phase) {
  const int examples = !o.like.empty() + !o.image.empty() + !o.video.empty();
  if (examples > 1) throw Error("query: give one example: --like, --image or --video");
  const bool has_text = o.text.find_first_not_of(" \t\r\n") != std::string::npos;
  if (!has_text && examples == 0) throw Error("query: give a text, an example (--like, --image, --video) or both");
  if (!(o.weight >= 0 && o.weight <= 1)) throw Error("--weight must be between 0 and 1");

  QueryVector q;
  std::vector<QueryTerm> terms;
  if (has_text) {
    terms = split_terms(o.text);
    for (const auto& t : terms) result.terms.emplace_back(t.text, t.sign), result.term_weights.push_back(t.weight);
    const bool any_positive = std::any_of(terms.begin(), terms.end(), [](const QueryTerm& t) { return t.sign > 0; });
    if (!any_positive && examples == 0)
      throw Error("query \"" + o.text + "\": only terms to avoid (-); say what to look for, or give an example");
  }
  const bool needs_model = has_text || !o.image.empty() || !o.video.empty();
  const std::filesystem::path model_dir = o.model_dir.empty() && needs_model ? resolve_model_dir(identity.name) : o.model_dir;

  std::vector<float> text;
  if (has_text) {
    const auto units = encode_terms(terms, model_dir, identity, result, q.text_raw, phase);
    text = combine_terms(terms, units);
  }
  std::vector<float> example;
  if (!o.like.empty()) {
    const ClipRow source = clip_at(library, parse_like(o.like));
    example = library.clip_embedding(source.id);  // stored normalised
    result.example = {"like", source.path, source.start, source.end, 1};
    if (!has_text) q.source_clip = source.id;
  } else if (examples > 0) {
    example = embed_example(o, library, identity, model_dir, result, phase);
  }

  if (has_text && examples > 0) {
    q.vector = mix_text_and_example(text, example, o.weight);
    result.example.weight = o.weight;
  } else {
    q.vector = has_text ? std::move(text) : std::move(example);
  }
  // What was asked, as the user wrote it: the text, else the example's argument.
  result.query = has_text ? o.text : !o.like.empty() ? o.like : !o.image.empty() ? o.image : o.video;
  return q;
}

}  // namespace xsearch::pipeline
