// The CLIP tokenizer against the reference fast tokenizer's ids (tests/fixtures/tokenizer).
#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "xsearch/error.hpp"
#include "xsearch/tokenizer.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
namespace fs = std::filesystem;

namespace {

const ClipTokenizer& fixture_tokenizer() {
  static const ClipTokenizer tok = ClipTokenizer::load(fixtures_dir() / "tokenizer");
  return tok;
}

// A tokenizer folder with the fixture's files, one of them replaced by `content`.
fs::path tokenizer_with(const test::TempDir& tmp, const std::string& file, const std::string& content) {
  const auto src = fixtures_dir() / "tokenizer";
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
    fs::copy_file(src / f, tmp / f, fs::copy_options::overwrite_existing);
  test::write_file(tmp / file, content);
  return tmp.path();
}

std::string load_error(const fs::path& dir) {
  try {
    ClipTokenizer::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("tokenizer matches the reference ids on every golden line", "[tokenizer]") {
  const auto& tok = fixture_tokenizer();
  CHECK(tok.vocab_size() == 49408);
  CHECK(tok.bos_id() == 49406);
  CHECK(tok.eos_id() == 49407);
  CHECK(tok.max_length() == 77);
  std::ifstream in(fixtures_dir() / "tokenizer" / "goldens.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    const std::string text = j["text"].get<std::string>();
    INFO("line " << lines + 1 << " (" << j["category"].get<std::string>() << "): " << j.dump());
    CHECK(tok.encode(text) == j["ids"].get<std::vector<int64_t>>());
    if (j.contains("untruncated_len"))
      CHECK(tok.encode_plain(text).size() + 2 == j["untruncated_len"].get<std::size_t>());
    ++lines;
  }
  CHECK(lines >= 200);
}

TEST_CASE("BPE merges the leftmost of equal pairs first: runs of one character", "[tokenizer]") {
  // tests/golden/bpe_repeats.jsonl: words where one pair occurs several times ("goooooal", "!!!!!!!!"),
  // written by scripts/make-bpe-repeat-goldens.py with the reference's rule (and checked by it against
  // every ASCII line of the reference goldens). Merging the rightmost occurrence first gives other tokens.
  const auto& tok = fixture_tokenizer();
  std::ifstream in(fs::path(XSEARCH_SOURCE_DIR) / "tests" / "golden" / "bpe_repeats.jsonl");
  REQUIRE(in);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    INFO(j.dump());
    CHECK(tok.encode(j["text"].get<std::string>()) == j["ids"].get<std::vector<int64_t>>());
    ++lines;
  }
  CHECK(lines >= 20);
}

TEST_CASE("tokenizer pads a batch like the reference", "[tokenizer]") {
  const auto j = nlohmann::json::parse(test::read_file(fixtures_dir() / "tokenizer" / "batch.json"));
  const TokenBatch batch = fixture_tokenizer().encode_batch(j["texts"].get<std::vector<std::string>>());
  CHECK(batch.input_ids == j["input_ids"].get<std::vector<std::vector<int64_t>>>());
  CHECK(batch.attention_mask == j["attention_mask"].get<std::vector<std::vector<int64_t>>>());
  CHECK(batch.ids_tensor().shape == std::vector<int64_t>{4, 16});
}

TEST_CASE("decode turns ids back into text, skipping special tokens on request", "[tokenizer]") {
  const auto& tok = fixture_tokenizer();
  const auto ids = tok.encode("A photo of a CAT, eating spaghetti!");
  CHECK(tok.decode(ids, true) == "a photo of a cat , eating spaghetti !");
  CHECK(tok.decode(ids) == "<|startoftext|>a photo of a cat , eating spaghetti ! <|endoftext|>");
  const auto cjk = tok.encode("吃意大利面 🍝");
  CHECK(tok.decode(cjk, true) == "吃意大利面 🍝");
  CHECK(tok.batch_decode({ids, cjk}, true).size() == 2);
  CHECK_THROWS_WITH(tok.decode({49406, 999999}), Catch::Contains("999999"));
  // Half of a multi-byte character decodes to U+FFFD instead of failing.
  const auto emoji = tok.encode_plain("🍝");
  REQUIRE(emoji.size() >= 2);
  CHECK(tok.decode({emoji[0]}).find("\xEF\xBF\xBD") != std::string::npos);
}

TEST_CASE("tokenizer replaces invalid UTF-8 instead of failing", "[tokenizer]") {
  const auto& tok = fixture_tokenizer();
  const std::string bad = std::string("caf") + "\xC3" + " " + "\xFF\xFE" + "ok" + "\xE2\x82";
  std::vector<int64_t> ids;
  REQUIRE_NOTHROW(ids = tok.encode(bad));
  CHECK(ids == tok.encode("caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBDok\xEF\xBF\xBD"));
  // NUL is a character, kept: "a\0b" encodes to more than "ab" and differs from it (a string cut at the NUL
  // would encode to "a" alone).
  const auto with_nul = tok.encode(std::string("a\0b", 3));
  CHECK(with_nul != tok.encode("ab"));
  CHECK(with_nul != tok.encode("a"));
  CHECK(tok.decode(with_nul, true).find('b') != std::string::npos);
}

TEST_CASE("tokenizer truncates long texts to the maximum length, keeping the EOS", "[tokenizer]") {
  const auto& tok = fixture_tokenizer();
  std::string text;
  for (int i = 0; i < 500; ++i) text += "word" + std::to_string(i % 10) + " ";
  const auto ids = tok.encode(text);
  CHECK(ids.size() == 77);
  CHECK(ids.front() == 49406);
  CHECK(ids.back() == 49407);
  CHECK(tok.encode_plain(text).size() > 75);
}

TEST_CASE("tokenizer gives the same ids from several threads", "[tokenizer]") {
  const auto& tok = fixture_tokenizer();
  const std::vector<std::string> texts = {"eating spaghetti", "a dog on the beach", "Zürich ΟΔΟΣ", "fireworks!!"};
  std::vector<std::vector<int64_t>> expected;
  for (const auto& t : texts) expected.push_back(tok.encode(t));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int r = 0; r < 500; ++r)
        for (std::size_t i = 0; i < texts.size(); ++i)
          if (tok.encode(texts[i] + (r % 2 ? "" : " x")) != tok.encode(texts[i] + (r % 2 ? "" : " x"))) ++mismatches;
    });
  for (auto& t : threads) t.join();
  CHECK(mismatches == 0);
  for (std::size_t i = 0; i < texts.size(); ++i) CHECK(tok.encode(texts[i]) == expected[i]);
}

TEST_CASE("malformed tokenizer files give errors naming the file", "[tokenizer]") {
  test::TempDir tmp;
  SECTION("vocab.json is not JSON") {
    CHECK_THAT(load_error(tokenizer_with(tmp, "vocab.json", "{oops")), Catch::Contains("vocab.json: invalid JSON"));
  }
  SECTION("vocab.json has a non-integer id") {
    CHECK_THAT(load_error(tokenizer_with(tmp, "vocab.json", R"({"a": "x"})")), Catch::Contains("vocab.json: token \"a\""));
  }
  SECTION("vocab.json with an id far past its token count (found by fuzzing: it sized a 20 GB table)") {
    CHECK_THAT(load_error(tokenizer_with(tmp, "vocab.json", R"({"a": 0, "b": 624838656})")),
               Catch::Contains("vocab.json: ids must number the 2 tokens 0..1, but the largest is 624838656"));
  }
  SECTION("merges.txt has a bad line") {
    CHECK_THAT(load_error(tokenizer_with(tmp, "merges.txt", "#version: 0.2\ni n\nabc\n")),
               Catch::Contains("merges.txt:3: expected two symbols"));
  }
  SECTION("merges.txt uses an unknown token") {
    CHECK_THAT(load_error(tokenizer_with(tmp, "merges.txt", "#version: 0.2\nqqqq zzzz\n")),
               Catch::Contains("merges.txt:2") && Catch::Contains("not in vocab.json"));
  }
  SECTION("a special token that is not in the vocabulary") {
    CHECK_THAT(load_error(tokenizer_with(tmp, "special_tokens_map.json", R"({"bos_token": "<|nope|>"})")),
               Catch::Contains("<|nope|>"));
  }
  SECTION("tokenizer_config.json is not an object") {
    CHECK_THAT(load_error(tokenizer_with(tmp, "tokenizer_config.json", "[1]")), Catch::Contains("tokenizer_config.json"));
  }
  SECTION("missing merges.txt") {
    tokenizer_with(tmp, "vocab.json", test::read_file(fixtures_dir() / "tokenizer" / "vocab.json"));
    fs::remove(tmp / "merges.txt");
    CHECK_THAT(load_error(tmp.path()), Catch::Contains("merges.txt: cannot open"));
  }
}
