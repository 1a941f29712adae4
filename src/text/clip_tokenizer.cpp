#include "xsearch/tokenizer.hpp"

#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "text/byte_unicode.hpp"
#include "text/clip_pretokenizer.hpp"
#include "text/utf8.hpp"
#include "xsearch/error.hpp"

namespace xsearch {

namespace {

constexpr const char* kEndOfWord = "</w>";
// CLIP's text context when tokenizer_config.json gives no usable model_max_length.
constexpr std::size_t kDefaultMaxLength = 77;
// Merged words kept in the cache; beyond this the cache starts over (typical queries reuse few words).
constexpr std::size_t kCacheLimit = 100000;

std::string read_text_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(p.string() + ": cannot open (is this a tokenizer or model folder?)");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json read_json_file(const std::filesystem::path& p) {
  try {
    return nlohmann::json::parse(read_text_file(p));
  } catch (const nlohmann::json::exception& e) {
    throw Error(p.string() + ": invalid JSON (" + e.what() + ")");
  }
}

// A special token is written either as a string or as {"content": "..."}.
std::string token_content(const nlohmann::json& v, const std::filesystem::path& file, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  throw Error(file.string() + ": " + key + ": expected a string or an object with \"content\"");
}

// Reads vocab.json ({"token": id, ...}) with nlohmann's SAX interface straight into a hash map: building
// the JSON document first took most of the tokenizer's load time (about 80 ms for CLIP's 49,408 tokens).
class VocabReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::unordered_map<std::string, int32_t> vocab;
  std::string error;

  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool number_unsigned(number_unsigned_t v) override { return add(static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX))); }
  bool number_integer(number_integer_t v) override { return add(v); }
  bool start_object(std::size_t) override {
    if (++depth_ == 1) return true;
    return fail("expected a flat object of token ids");
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool null() override { return fail_value(); }
  bool boolean(bool) override { return fail_value(); }
  bool number_float(number_float_t, const string_t&) override { return fail_value(); }
  bool string(string_t&) override { return fail_value(); }
  bool binary(binary_t&) override { return fail_value(); }
  bool start_array(std::size_t) override { return depth_ == 0 ? fail("expected a JSON object of token ids") : fail_value(); }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override { return fail(std::string("invalid JSON (") + e.what() + ")"); }

 private:
  bool add(int64_t id) {
    if (depth_ != 1) return fail("expected a JSON object of token ids");
    if (id < 0 || id > std::numeric_limits<int32_t>::max()) return fail("token \"" + key_ + "\": id must be a non-negative integer");
    if (!vocab.emplace(key_, static_cast<int32_t>(id)).second) return fail("token \"" + key_ + "\" appears twice");
    return true;
  }
  bool fail_value() { return depth_ == 0 ? fail("expected a JSON object of token ids") : fail("token \"" + key_ + "\": id must be a non-negative integer"); }
  bool fail(const std::string& why) {
    if (error.empty()) error = why;
    return false;
  }
  std::string key_;
  int depth_ = 0;
};

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

}  // namespace

struct ClipTokenizer::Impl {
  std::unordered_map<std::string, int32_t> vocab;
  std::vector<std::string> id_to_token;
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  std::unordered_map<uint64_t, Merge> merges;
  std::string bos = "<|startoftext|>", eos = "<|endoftext|>", pad = "<|endoftext|>", unk = "<|endoftext|>";
  int32_t bos_id = 0, eos_id = 0, pad_id = 0, unk_id = 0;
  std::size_t max_length = kDefaultMaxLength;
  std::u32string bos32, eos32;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

  int32_t id_of(const std::string& token, const std::filesystem::path& file) const {
    auto it = vocab.find(token);
    if (it == vocab.end()) throw Error(file.string() + ": token \"" + token + "\" is not in vocab.json");
    return it->second;
  }

  // BPE of one word (its UTF-8 bytes), with </w> on the last symbol.
  std::vector<int32_t> bpe(const std::string& word) const {
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      auto it = cache.find(word);
      if (it != cache.end()) return it->second;
    }
    const auto& b2u = text::byte_to_unicode();
    std::vector<int32_t> symbols;
    symbols.reserve(word.size());
    for (std::size_t i = 0; i < word.size(); ++i) {
      std::string sym = b2u[static_cast<uint8_t>(word[i])];
      if (i + 1 == word.size()) sym += kEndOfWord;
      auto it = vocab.find(sym);
      symbols.push_back(it == vocab.end() ? unk_id : it->second);
    }
    // Merge the adjacent pair of lowest rank (leftmost on ties) until no pair has a merge.
    while (symbols.size() > 1) {
      int32_t best_rank = std::numeric_limits<int32_t>::max();
      std::size_t best_pos = 0;
      int32_t best_id = -1;
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        auto it = merges.find(pair_key(symbols[i], symbols[i + 1]));
        if (it != merges.end() && it->second.rank < best_rank) {
          best_rank = it->second.rank;
          best_pos = i;
          best_id = it->second.merged;
        }
      }
      if (best_id < 0) break;
      symbols[best_pos] = best_id;
      symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_pos) + 1);
    }
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kCacheLimit) cache.clear();
    cache.emplace(word, symbols);
    return symbols;
  }

  void encode_segment(const std::u32string& normalized, std::vector<int64_t>& out) const {
    for (const auto& w : text::split_clip_words(normalized))
      for (int32_t id : bpe(text::codepoints_to_utf8(w))) out.push_back(id);
  }

  std::vector<int64_t> encode_plain(std::string_view input) const {
    const std::u32string normalized = text::normalize_clip(text::utf8_to_codepoints(input));
    // The special tokens' literal text, found in the normalised text, becomes their ids.
    std::vector<int64_t> out;
    std::size_t start = 0;
    while (start <= normalized.size()) {
      const std::size_t at_bos = normalized.find(bos32, start);
      const std::size_t at_eos = normalized.find(eos32, start);
      const std::size_t at = std::min(at_bos, at_eos);
      if (at == std::u32string::npos) {
        encode_segment(normalized.substr(start), out);
        break;
      }
      encode_segment(normalized.substr(start, at - start), out);
      const bool is_bos = at == at_bos;
      out.push_back(is_bos ? bos_id : eos_id);
      start = at + (is_bos ? bos32.size() : eos32.size());
    }
    return out;
  }
};

ClipTokenizer::ClipTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::load(const std::filesystem::path& dir) {
  auto impl = std::make_unique<Impl>();
  const auto vocab_path = dir / "vocab.json";
  const auto merges_path = dir / "merges.txt";
  VocabReader reader;
  const std::string vocab_text = read_text_file(vocab_path);
  if (!nlohmann::json::sax_parse(vocab_text, &reader) || !reader.error.empty())
    throw Error(vocab_path.string() + ": " + (reader.error.empty() ? "invalid JSON" : reader.error));
  if (reader.vocab.empty()) throw Error(vocab_path.string() + ": expected a JSON object of token ids");
  std::unordered_set<int32_t> seen;
  int64_t max_id = -1;
  for (const auto& [token, id] : reader.vocab) {
    if (!seen.insert(id).second) throw Error(vocab_path.string() + ": id " + std::to_string(id) + " is given to two tokens");
    max_id = std::max<int64_t>(max_id, id);
  }
  // A vocab.json of N tokens numbers them 0..N-1 (every BPE tokenizer writes it so). The id table below is
  // indexed by id, so a single huge id (found by fuzzing: 624838656 asked for 20 GB) must not size it.
  if (max_id + 1 != static_cast<int64_t>(reader.vocab.size()))
    throw Error(vocab_path.string() + ": ids must number the " + std::to_string(reader.vocab.size()) +
                " tokens 0.." + std::to_string(reader.vocab.size() - 1) + ", but the largest is " + std::to_string(max_id));
  impl->vocab = std::move(reader.vocab);
  impl->id_to_token.resize(static_cast<std::size_t>(max_id + 1));
  for (const auto& [token, id] : impl->vocab) impl->id_to_token[static_cast<std::size_t>(id)] = token;

  std::istringstream merges(read_text_file(merges_path));
  std::string line;
  int32_t rank = 0;
  std::size_t line_no = 0;
  while (std::getline(merges, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const std::size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= line.size() || line.find(' ', space + 1) != std::string::npos)
      throw Error(merges_path.string() + ":" + std::to_string(line_no) + ": expected two symbols separated by one space");
    const std::string a = line.substr(0, space), b = line.substr(space + 1);
    auto ia = impl->vocab.find(a), ib = impl->vocab.find(b), im = impl->vocab.find(a + b);
    if (ia == impl->vocab.end() || ib == impl->vocab.end() || im == impl->vocab.end())
      throw Error(merges_path.string() + ":" + std::to_string(line_no) + ": merge \"" + line +
                  "\" uses a token that is not in vocab.json");
    impl->merges.emplace(pair_key(ia->second, ib->second), Impl::Merge{rank++, im->second});
  }
  if (rank == 0) throw Error(merges_path.string() + ": no merges");

  // Special tokens and the maximum length: tokenizer_config.json, then special_tokens_map.json over it.
  const auto config_path = dir / "tokenizer_config.json";
  const auto special_path = dir / "special_tokens_map.json";
  for (const auto& path : {config_path, special_path}) {
    if (!std::filesystem::exists(path)) continue;
    const nlohmann::json j = read_json_file(path);
    if (!j.is_object()) throw Error(path.string() + ": expected a JSON object");
    if (j.contains("bos_token") && !j["bos_token"].is_null()) impl->bos = token_content(j["bos_token"], path, "bos_token");
    if (j.contains("eos_token") && !j["eos_token"].is_null()) impl->eos = token_content(j["eos_token"], path, "eos_token");
    if (j.contains("pad_token") && !j["pad_token"].is_null()) impl->pad = token_content(j["pad_token"], path, "pad_token");
    if (j.contains("unk_token") && !j["unk_token"].is_null()) impl->unk = token_content(j["unk_token"], path, "unk_token");
    if (j.contains("model_max_length")) {
      const auto& m = j["model_max_length"];
      // The hub writes a huge sentinel (1e30) when a model sets no limit: keep CLIP's 77 then.
      if (m.is_number() && m.get<double>() >= 2 && m.get<double>() < 1e6) impl->max_length = m.get<std::size_t>();
    }
  }
  impl->bos_id = impl->id_of(impl->bos, vocab_path);
  impl->eos_id = impl->id_of(impl->eos, vocab_path);
  impl->pad_id = impl->id_of(impl->pad, vocab_path);
  impl->unk_id = impl->id_of(impl->unk, vocab_path);
  impl->bos32 = text::utf8_to_codepoints(impl->bos);
  impl->eos32 = text::utf8_to_codepoints(impl->eos);
  return ClipTokenizer(std::move(impl));
}

std::vector<int64_t> ClipTokenizer::encode_plain(std::string_view text) const { return impl_->encode_plain(text); }

std::vector<int64_t> ClipTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> content = impl_->encode_plain(text);
  const std::size_t room = impl_->max_length - 2;
  if (content.size() > room) content.resize(room);
  std::vector<int64_t> ids;
  ids.reserve(content.size() + 2);
  ids.push_back(impl_->bos_id);
  ids.insert(ids.end(), content.begin(), content.end());
  ids.push_back(impl_->eos_id);
  return ids;
}

TokenBatch ClipTokenizer::encode_batch(const std::vector<std::string>& texts) const {
  TokenBatch batch;
  std::size_t longest = 0;
  for (const auto& t : texts) {
    batch.input_ids.push_back(encode(t));
    longest = std::max(longest, batch.input_ids.back().size());
  }
  for (auto& ids : batch.input_ids) {
    std::vector<int64_t> mask(ids.size(), 1);
    mask.resize(longest, 0);
    ids.resize(longest, impl_->pad_id);
    batch.attention_mask.push_back(std::move(mask));
  }
  return batch;
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  const auto& u2b = text::unicode_to_byte();
  std::string bytes;
  for (int64_t id : ids) {
    const bool special = id == impl_->bos_id || id == impl_->eos_id || id == impl_->pad_id || id == impl_->unk_id;
    if (special && skip_special_tokens) continue;
    if (id < 0 || static_cast<std::size_t>(id) >= impl_->id_to_token.size() || impl_->id_to_token[id].empty())
      throw Error("decode: token id " + std::to_string(id) + " is not in the vocabulary");
    const std::string& token = impl_->id_to_token[static_cast<std::size_t>(id)];
    if (special) {
      bytes += token;
      continue;
    }
    // Symbols map back to bytes; "</w>" ends a word.
    std::string_view rest(token);
    bool end_of_word = false;
    if (rest.size() >= 4 && rest.substr(rest.size() - 4) == kEndOfWord) {
      rest.remove_suffix(4);
      end_of_word = true;
    }
    for (char32_t c : text::utf8_to_codepoints(rest)) {
      auto it = u2b.find(c);
      if (it != u2b.end()) bytes.push_back(static_cast<char>(it->second));
    }
    if (end_of_word) bytes.push_back(' ');
  }
  // Bytes that do not form UTF-8 become U+FFFD (the reference decodes with errors="replace"); then strip.
  std::u32string cps = text::utf8_to_codepoints(bytes);
  std::size_t b = 0, e = cps.size();
  while (b < e && text::is_white_space(cps[b])) ++b;
  while (e > b && text::is_white_space(cps[e - 1])) --e;
  return text::codepoints_to_utf8(cps.substr(b, e - b));
}

std::vector<std::string> ClipTokenizer::batch_decode(const std::vector<std::vector<int64_t>>& ids, bool skip_special_tokens) const {
  std::vector<std::string> out;
  for (const auto& row : ids) out.push_back(decode(row, skip_special_tokens));
  return out;
}

int64_t ClipTokenizer::bos_id() const { return impl_->bos_id; }
int64_t ClipTokenizer::eos_id() const { return impl_->eos_id; }
int64_t ClipTokenizer::pad_id() const { return impl_->pad_id; }
std::size_t ClipTokenizer::max_length() const { return impl_->max_length; }
std::size_t ClipTokenizer::vocab_size() const { return impl_->vocab.size(); }

static HostTensor rows_to_tensor(const std::vector<std::vector<int64_t>>& rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  const int64_t n = static_cast<int64_t>(rows.size());
  return HostTensor::from_i64({n, n ? static_cast<int64_t>(rows[0].size()) : 0}, flat);
}

HostTensor TokenBatch::ids_tensor() const { return rows_to_tensor(input_ids); }
HostTensor TokenBatch::mask_tensor() const { return rows_to_tensor(attention_mask); }

}  // namespace xsearch
