// The xsearch executable end to end: exit statuses, `dev forward` parity, `dev tokenize` output.
#include <sys/wait.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "xsearch/safetensors.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;

namespace {

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `xsearch ARGS` through the shell, with `stdin_text` on standard input.
Result xsearch_run(const std::string& args, const std::string& stdin_text = "") {
  test::TempDir tmp;
  test::write_file(tmp / "in", stdin_text);
  const std::string cmd = quote(XSEARCH_BINARY) + " " + args + " <" + quote((tmp / "in").string()) + " >" +
                          quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
  Result r;
  const int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = test::read_file(tmp / "out");
  r.err = test::read_file(tmp / "err");
  return r;
}

}  // namespace

TEST_CASE("xsearch exits 0 on --help and 2 on a usage error", "[cli]") {
  const Result help = xsearch_run("--help");
  CHECK(help.status == 0);
  CHECK_THAT(help.out, Catch::Contains("dev"));
  const Result bad = xsearch_run("no-such-command");
  CHECK(bad.status == 2);
  const Result missing = xsearch_run("dev forward --model /nonexistent --inputs /nonexistent --out /tmp/x");
  CHECK(missing.status == 2);
  CHECK_THAT(missing.err, Catch::StartsWith("xsearch: /nonexistent"));
}

TEST_CASE("xsearch dev forward writes every reference tensor of xclip-tiny", "[cli][model]") {
  const auto dir = fixtures_dir() / "xclip-tiny";
  for (const bool interpolate : {false, true}) {
    test::TempDir tmp;
    const auto out = tmp / "out.safetensors";
    const std::string suffix = interpolate ? "-interpolate" : "";
    const Result r = xsearch_run("dev forward --model " + dir.string() + " --inputs " +
                                 (dir / ("inputs" + suffix + ".safetensors")).string() + " --out " + out.string() +
                                 (interpolate ? " --interpolate-pos-encoding" : ""));
    INFO(r.err);
    REQUIRE(r.status == 0);
    const SafetensorsFile expected(dir / ("expected" + suffix + ".safetensors"));
    const SafetensorsFile actual(out);
    for (const auto& info : expected.tensors()) {
      INFO("tensor " << info.name);
      REQUIRE(actual.find(info.name));
      // Same tolerance as the API parity test (test_model_parity.cpp explains it).
      XSEARCH_CHECK_CLOSE(info.name, actual.read(info.name), expected.read(info.name), 1e-4, 1e-4);
    }
  }
}

TEST_CASE("xsearch dev tokenize reproduces the goldens and the padded batch", "[cli][tokenizer]") {
  const auto dir = fixtures_dir() / "tokenizer";
  std::ifstream in(dir / "goldens.jsonl");
  std::string line, input;
  std::vector<std::vector<int64_t>> expected;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    input += j["text"].dump() + "\n";
    expected.push_back(j["ids"].get<std::vector<int64_t>>());
  }
  const Result r = xsearch_run("dev tokenize --tokenizer " + dir.string(), input);
  REQUIRE(r.status == 0);
  std::istringstream out(r.out);
  std::size_t i = 0;
  while (std::getline(out, line)) {
    REQUIRE(i < expected.size());
    CHECK(nlohmann::json::parse(line)["ids"].get<std::vector<int64_t>>() == expected[i]);
    ++i;
  }
  CHECK(i == expected.size());

  const auto batch = nlohmann::json::parse(test::read_file(dir / "batch.json"));
  std::string texts;
  for (const auto& t : batch["texts"]) texts += t.dump() + "\n";
  const Result padded = xsearch_run("dev tokenize --pad --tokenizer " + dir.string(), texts);
  REQUIRE(padded.status == 0);
  const auto got = nlohmann::json::parse(padded.out);
  CHECK(got["input_ids"] == batch["input_ids"]);
  CHECK(got["attention_mask"] == batch["attention_mask"]);

  // A line that is not a JSON string is reported and the others still come out, aligned.
  const Result mixed = xsearch_run("dev tokenize --tokenizer " + dir.string(), "\"a cat\"\nnot json\n\"a dog\"\n");
  CHECK(mixed.status == 2);
  CHECK_THAT(mixed.err, Catch::Contains("stdin:2"));
  CHECK(std::count(mixed.out.begin(), mixed.out.end(), '\n') == 3);
}
