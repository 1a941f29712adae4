// Search by example (issue 23): `query --image FILE`, `--video PATH[@TIME]` of a file outside the library,
// a text combined with an example (--weight), and + / - terms, checked against the formula README states
// with scores recomputed from the stored embeddings (`dev embeddings`) and single-text queries.
#include <cmath>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"
#include "pipeline/query_terms.hpp"
#include "xsearch/error.hpp"

using namespace xsearch;
using xsearch::test::make_video;
using xsearch::test::model_arg;
using xsearch::test::quote;
using xsearch::test::Result;
using xsearch::test::run_json;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

// A library of three 8 s videos (two 4 s clips each) ingested with the tiny model.
struct SmallLibrary {
  test::TempDir tmp;
  fs::path videos = tmp / "videos";
  std::string db = " --db " + quote((tmp / "lib.db").string());
  SmallLibrary() {
    make_video(videos / "pattern.mp4", "testsrc2", 8);
    make_video(videos / "fractal.mp4", "mandelbrot", 8);
    make_video(videos / "bars.mp4", "smptebars", 8);
    run_json("ingest " + quote(videos.string()) + db + model_arg(), 0);
  }
};

// Every clip's score for a query, one clip per result (--max-segment below a clip's length joins none),
// keyed by "path@start".
std::map<std::string, double> clip_scores(const std::string& query_args, const std::string& db) {
  const auto j = run_json("query " + query_args + " -k 1000 --max-segment 0.001 --no-thumbnails" + db, 0);
  std::map<std::string, double> out;
  for (const auto& hit : j["results"]) out[hit["path"].get<std::string>() + "@" + std::to_string(hit["start"].get<double>())] = hit["score"];
  return out;
}

std::vector<std::string> ranking(const std::map<std::string, double>& scores) {
  std::vector<std::pair<double, std::string>> v;
  for (const auto& [k, s] : scores) v.emplace_back(-s, k);
  std::sort(v.begin(), v.end());
  std::vector<std::string> out;
  for (const auto& [s, k] : v) out.push_back(k);
  return out;
}

std::vector<std::pair<std::string, int>> terms_of(const std::string& text) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& t : pipeline::split_terms(text)) out.emplace_back(t.text, t.sign);
  return out;
}

}  // namespace

TEST_CASE("query text splits into + and - terms, and a sign with nothing after it is an error", "[cli]") {
  using T = std::vector<std::pair<std::string, int>>;
  CHECK(terms_of("horse + stripes - grass") == T{{"horse", 1}, {"stripes", 1}, {"grass", -1}});
  CHECK(terms_of("horse +stripes") == T{{"horse", 1}, {"stripes", 1}});
  CHECK(terms_of("C++ tutorial") == T{{"C++ tutorial", 1}});  // + inside a word is no sign either
  CHECK(terms_of("1+1 equals two") == T{{"1+1 equals two", 1}});
  CHECK(terms_of("horse -grass") == T{{"horse", 1}, {"grass", -1}});
  CHECK(terms_of("a red t-shirt") == T{{"a red t-shirt", 1}});  // - inside a word is no sign
  CHECK(terms_of("-grass") == T{{"grass", -1}});
  CHECK(terms_of("+cat") == T{{"cat", 1}});
  CHECK(terms_of("  eating spaghetti ") == T{{"eating spaghetti", 1}});
  CHECK_THROWS_WITH(pipeline::split_terms("cat +"), Catch::Contains("query \"cat +\": nothing after \"+\""));
  CHECK_THROWS_WITH(pipeline::split_terms("-"), Catch::Contains("nothing after \"-\""));
  CHECK_THROWS_WITH(pipeline::split_terms("a + + b"), Catch::Contains("nothing after \"+\""));
  CHECK_THROWS_WITH(pipeline::split_terms("a - "), Catch::Contains("nothing after \"-\""));
  CHECK_THROWS_WITH(pipeline::split_terms("   "), Catch::Contains("nothing to look for"));
}

TEST_CASE("terms and a text with an example combine by the documented formula", "[cli]") {
  const std::vector<float> x = {1, 0, 0}, y = {0, 1, 0};
  const std::vector<pipeline::QueryTerm> plus_minus = {{"x", 1}, {"y", -1}};
  // normalize(x - y) = (1, -1, 0) / sqrt(2); exact to float rounding (1e-7 relative).
  const auto d = pipeline::combine_terms(plus_minus, {x, y});
  CHECK(d[0] == Approx(1 / std::sqrt(2.0)).margin(1e-6));
  CHECK(d[1] == Approx(-1 / std::sqrt(2.0)).margin(1e-6));
  CHECK(d[2] == 0);
  // One positive term is its own unit vector, bit for bit (a plain query keeps its numbers).
  const std::vector<float> odd = {0.6f, 0.8f, 0.0f};
  CHECK(pipeline::combine_terms({{"x", 1}}, {odd}) == odd);
  CHECK_THROWS_WITH(pipeline::combine_terms({{"cat", 1}, {"cat", -1}}, {x, x}), Catch::Contains("cancel out"));
  // normalize(0.75 x + 0.25 y) = (3, 1, 0) / sqrt(10).
  const auto m = pipeline::mix_text_and_example(x, y, 0.25);
  CHECK(m[0] == Approx(3 / std::sqrt(10.0)).margin(1e-6));
  CHECK(m[1] == Approx(1 / std::sqrt(10.0)).margin(1e-6));
  CHECK(pipeline::mix_text_and_example(x, y, 0) == x);
  CHECK(pipeline::mix_text_and_example(x, y, 1) == y);
  CHECK_THROWS_WITH(pipeline::mix_text_and_example(x, y, 1.5), Catch::Contains("--weight must be between 0 and 1"));
  CHECK_THROWS_WITH(pipeline::mix_text_and_example(x, {-1, 0, 0}, 0.5), Catch::Contains("cancel out"));
}

TEST_CASE("query --image with a still of a library video finds that video's clip first", "[cli][index]") {
  SmallLibrary lib;
  const fs::path still = lib.tmp / "still.png";
  test::ffmpeg("-ss 5 -i " + quote((lib.videos / "bars.mp4").string()) + " -frames:v 1 " + quote(still.string()));
  const auto j = run_json("query --image " + quote(still.string()) + " -k 3 --no-thumbnails" + lib.db, 0);
  REQUIRE(!j["results"].empty());
  CHECK(j["results"][0]["path"] == (lib.videos / "bars.mp4").string());
  // SMPTE bars do not move: the still and the clip's 8 frames are the same picture, up to the RGB
  // conversion of the ffmpeg program against ours (a level or two per pixel), so the cosine is close to 1.
  CHECK(j["results"][0]["score"].get<double>() > 0.99);
  CHECK(j["query"] == still.string());
  CHECK(j["terms"].empty());
  CHECK(j["example"]["kind"] == "image");
  CHECK(j["example"]["path"] == still.string());
  CHECK(j["example"]["start"].is_null());
  CHECK(j["example"]["weight"] == 1.0);
}

TEST_CASE("query --video PATH@TIME of a copy outside the library finds the original's clip at that time first", "[cli][index]") {
  SmallLibrary lib;
  const fs::path copy = lib.tmp / "elsewhere" / "renamed copy.mp4";
  fs::create_directories(copy.parent_path());
  fs::copy_file(lib.videos / "fractal.mp4", copy);
  for (const std::string at : {"@5", "@0:05.5"}) {
    const auto j = run_json("query --video " + quote(copy.string() + at) + " -k 3 --no-thumbnails" + lib.db, 0);
    INFO(at);
    const auto& top = j["results"][0];
    CHECK(top["path"] == (lib.videos / "fractal.mp4").string());
    CHECK(top["peak"] == 4.0);  // the clip [4, 8) holds 5 s
    // The same frames, preprocessed and embedded as ingest did: equal to float rounding (1e-6); 1e-4
    // leaves room for a batch of one against ingest's batch of four.
    CHECK(top["peak_score"].get<double>() == Approx(1.0).margin(1e-4));
    CHECK(j["example"]["kind"] == "video");
    CHECK(j["example"]["start"] == 4.0);
    CHECK(j["example"]["end"] == 8.0);
  }
  // PATH alone: its start.
  const auto start = run_json("query --video " + quote(copy.string()) + " -k 1 --no-thumbnails" + lib.db, 0);
  CHECK(start["results"][0]["peak"] == 0.0);
  CHECK(start["example"]["start"] == 0.0);
  // Past the end: its last clip, with a warning.
  const Result late = xsearch_run("query --video " + quote(copy.string() + "@1:00") + " -k 1 --json --no-thumbnails" + lib.db);
  CHECK(late.status == 0);
  CHECK_THAT(late.err, Catch::Contains("60.0 s is past its end (8.0 s): searched with its last clip"));
}

TEST_CASE("a text with an example ranks by normalize((1 - w) T + w E), unlike either alone", "[cli][index]") {
  SmallLibrary lib;
  // E: the stored embedding of fractal.mp4's clip at 0 s, from dev embeddings.
  std::map<std::string, std::vector<float>> stored;
  {
    const Result r = xsearch_run("dev embeddings" + lib.db);
    REQUIRE(r.status == 0);
    std::istringstream out(r.out);
    for (std::string line; std::getline(out, line);) {
      const auto j = nlohmann::json::parse(line);
      stored[j["path"].get<std::string>() + "@" + std::to_string(j["start"].get<double>())] = j["embedding"].get<std::vector<float>>();
    }
  }
  REQUIRE(stored.size() == 6);
  const std::string source = (lib.videos / "fractal.mp4").string();
  const auto& e = stored.at(source + "@" + std::to_string(0.0));
  const std::string text = "a bright colourful pattern";
  const auto by_text = clip_scores(quote(text), lib.db);
  REQUIRE(by_text.size() == 6);
  std::map<std::string, double> by_example;
  for (const auto& [key, v] : stored) {
    double dot = 0;
    for (std::size_t i = 0; i < v.size(); ++i) dot += double(v[i]) * e[i];
    by_example[key] = dot;
  }
  const double w = 0.3;
  // T.E is the text's score of the example clip; |(1 - w) T + w E| follows from it (both unit vectors).
  const double t_e = by_text.at(source + "@" + std::to_string(0.0));
  const double norm = std::sqrt((1 - w) * (1 - w) + w * w + 2 * w * (1 - w) * t_e);
  std::map<std::string, double> expected;
  for (const auto& [key, s] : by_text) expected[key] = ((1 - w) * s + w * by_example.at(key)) / norm;

  const auto combined_json = run_json("query " + quote(text) + " --like " + quote(source + "@0") + " --weight 0.3 -k 1000 --max-segment 0.001 --no-thumbnails" + lib.db, 0);
  CHECK(combined_json["example"]["kind"] == "like");
  CHECK(combined_json["example"]["weight"] == Approx(0.3));
  const auto combined = clip_scores(quote(text) + " --like " + quote(source + "@0") + " --weight 0.3", lib.db);
  REQUIRE(combined.size() == 6);
  // Scores are float32 inner products of float32 vectors (rounding about 1e-6): 1e-5 still catches a
  // wrong weight or a missing renormalisation, which move scores by 1e-2 or more here.
  for (const auto& [key, s] : combined) CHECK(s == Approx(expected.at(key)).margin(1e-5));
  CHECK(ranking(combined) == ranking(expected));
  CHECK(ranking(combined) != ranking(by_text));
  CHECK(ranking(combined) != ranking(by_example));
}

TEST_CASE("+ and - terms score as the renormalised signed sum of the terms' embeddings", "[cli][index]") {
  SmallLibrary lib;
  const auto red = clip_scores("red", lib.db), ball = clip_scores("ball", lib.db), grass = clip_scores("grass", lib.db);
  const auto j = run_json("query 'red + ball - grass' -k 1 --no-thumbnails" + lib.db, 0);
  CHECK(j["terms"] == nlohmann::json::parse(R"([{"text":"red","sign":1,"weight":1.0},{"text":"ball","sign":1,"weight":1.0},{"text":"grass","sign":-1,"weight":1.0}])"));
  const auto combined = clip_scores(quote("red + ball - grass"), lib.db);
  REQUIRE(combined.size() == 6);
  // score = (s_red + s_ball - s_grass) / |T_red + T_ball - T_grass|: the same factor for every clip.
  std::map<std::string, double> sum;
  for (const auto& [key, s] : red) sum[key] = s + ball.at(key) - grass.at(key);
  const double factor = combined.begin()->second / sum.at(combined.begin()->first);
  CHECK(factor > 0);
  // Float32 scores (about 1e-6 each) over sums of three: a relative 1e-4 on the factor holds; a term
  // with the wrong sign changes it by far more.
  for (const auto& [key, s] : combined) CHECK(s == Approx(factor * sum.at(key)).margin(1e-4 * std::fabs(s) + 1e-5));
  CHECK(ranking(combined) == ranking(sum));
  // Only terms to avoid, with no example, is refused; with an example it subtracts from the example.
  // `--` ends the options: a text that starts with - is not taken for one.
  const Result only_minus = xsearch_run("query" + lib.db + " -- '-grass'");
  CHECK(only_minus.status == 2);
  CHECK_THAT(only_minus.err, Catch::Contains("only terms to avoid"));
  const Result trailing = xsearch_run("query 'cat +'" + lib.db);
  CHECK(trailing.status == 2);
  CHECK_THAT(trailing.err, Catch::Contains("query \"cat +\": nothing after \"+\""));
  CHECK(xsearch_run("query --like " + quote((lib.videos / "bars.mp4").string()) + lib.db + " -- '-grass'").status == 0);
  const Result rerank = xsearch_run("query 'red + ball' --rerank" + lib.db);
  CHECK(rerank.status == 2);
  CHECK_THAT(rerank.err, Catch::Contains("--rerank scores a plain text"));
}

TEST_CASE("a bad example file gives exit 2 with a message naming the file", "[cli][index]") {
  SmallLibrary lib;
  const fs::path bad = lib.tmp / "not a picture.jpg";
  test::write_file(bad, "this is not a JPEG");
  const Result r = xsearch_run("query --image " + quote(bad.string()) + lib.db);
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains(bad.string() + ": not a readable image"));
  const Result missing = xsearch_run("query --image " + quote((lib.tmp / "gone.png").string()) + lib.db);
  CHECK(missing.status == 2);
  CHECK_THAT(missing.err, Catch::Contains((lib.tmp / "gone.png").string() + ": no such file"));
  // A still given to --video says which option takes it.
  const fs::path still = lib.tmp / "still.png";
  test::ffmpeg("-i " + quote((lib.videos / "bars.mp4").string()) + " -frames:v 1 " + quote(still.string()));
  const Result as_video = xsearch_run("query --video " + quote(still.string()) + lib.db);
  CHECK(as_video.status == 2);
  CHECK_THAT(as_video.err, Catch::Contains(still.string() + ": a single image, not a video (--image searches with a still)"));
  const Result two = xsearch_run("query --image " + quote(still.string()) + " --like " + quote((lib.videos / "bars.mp4").string()) + lib.db);
  CHECK(two.status == 2);
  CHECK_THAT(two.err, Catch::Contains("give one example"));
  const Result weight = xsearch_run("query cat --like " + quote((lib.videos / "bars.mp4").string()) + " --weight 2" + lib.db);
  CHECK(weight.status == 2);
  CHECK_THAT(weight.err, Catch::Contains("--weight must be between 0 and 1"));
}
