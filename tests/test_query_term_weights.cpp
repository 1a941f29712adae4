// Per-term weights in a query text, as rclip writes them ("2:horse + stripes"): the parser (what is a
// weight, what stays text, what is refused) and the vector searched with, which must be the weighted,
// renormalised sum of the terms' own unit vectors (`query --vector-out` of each term alone).
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"
#include "pipeline/query_terms.hpp"
#include "xsearch/error.hpp"
#include "xsearch/npy.hpp"

using namespace xsearch;
using xsearch::test::quote;
using xsearch::test::Result;
using xsearch::test::run_json;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

struct Term {
  std::string text;
  int sign;
  double weight;
  bool operator==(const Term& o) const { return text == o.text && sign == o.sign && weight == o.weight; }
};
std::ostream& operator<<(std::ostream& os, const Term& t) { return os << "{" << t.text << ", " << t.sign << ", " << t.weight << "}"; }

std::vector<Term> terms_of(const std::string& text) {
  std::vector<Term> out;
  for (const auto& t : pipeline::split_terms(text)) out.push_back({t.text, t.sign, t.weight});
  return out;
}

// A vector written by `query --vector-out` (write_npy: a fixed header, then float32 values).
std::vector<float> read_vector(const fs::path& npy) {
  const std::string bytes = test::read_file(npy);
  REQUIRE(bytes.size() > kNpyHeaderBytes);
  std::vector<float> v((bytes.size() - kNpyHeaderBytes) / sizeof(float));
  std::memcpy(v.data(), bytes.data() + kNpyHeaderBytes, v.size() * sizeof(float));
  return v;
}

// The top clip ("path@start") of a query, one clip per result.
std::string top_clip(const std::string& text, const std::string& db) {
  const auto j = run_json("query " + quote(text) + " -k 1 --max-segment 0.001 --no-thumbnails" + db, 0);
  return j["results"][0]["path"].get<std::string>() + "@" + std::to_string(j["results"][0]["start"].get<double>());
}

}  // namespace

TEST_CASE("a query term may start with an rclip-style weight, and a bad weight is refused by name", "[cli]") {
  using T = std::vector<Term>;
  CHECK(terms_of("2:horse + stripes") == T{{"horse", 1, 2}, {"stripes", 1, 1}});
  CHECK(terms_of("horse + 0.5:stripes - 3:grass") == T{{"horse", 1, 1}, {"stripes", 1, 0.5}, {"grass", -1, 3}});
  CHECK(terms_of("2: a grey horse") == T{{"a grey horse", 1, 2}});
  // A digit after the ':' is a time or a ratio, and what has no digit before the ':' is text.
  CHECK(terms_of("sunset at 10:30") == T{{"sunset at 10:30", 1, 1}});
  CHECK(terms_of("10:30 sunset") == T{{"10:30 sunset", 1, 1}});
  CHECK(terms_of("16:9 footage") == T{{"16:9 footage", 1, 1}});
  CHECK(terms_of("note: a cat") == T{{"note: a cat", 1, 1}});
  CHECK(terms_of("nan:cat") == T{{"nan:cat", 1, 1}});  // no digit: text, as rclip reads it
  for (const char* bad : {"0:cat", "0.0:cat", "1.2.3:cat", ".5:cat", "2.:cat", "horse +-2:cat", "2000:cat", "2:", "horse + 3:  "})
    CHECK_THROWS_WITH(pipeline::split_terms(bad), Catch::Contains("bad weight"));
  CHECK_THROWS_WITH(pipeline::split_terms("0:cat"), Catch::Contains("query \"0:cat\": bad weight \"0\" in \"0:cat\": 0 would drop the term"));
  CHECK_THROWS_WITH(pipeline::split_terms("2:"), Catch::Contains("nothing after it"));
  CHECK_THROWS_WITH(pipeline::split_terms("1.2.3:cat"), Catch::Contains("a weight is a positive number such as 2 or 0.5"));
}

TEST_CASE("a weighted query searches with normalize(sum of sign * weight * unit term), and the weight moves the ranking",
          "[cli][index]") {
  test::TempDir tmp;
  const fs::path videos = tmp / "videos";
  test::make_video(videos / "pattern.mp4", "testsrc2", 8);
  test::make_video(videos / "fractal.mp4", "mandelbrot", 8);
  test::make_video(videos / "bars.mp4", "smptebars", 8);
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  run_json("ingest " + quote(videos.string()) + db + test::model_arg(), 0);
  auto vector_of = [&](const std::string& text, const std::string& name) {
    const fs::path out = tmp / name;
    run_json("query " + quote(text) + " -k 1 --no-thumbnails --vector-out " + quote(out.string()) + db, 0);
    return read_vector(out);
  };

  // Two texts whose best clips differ (the tiny model is random: found, not assumed).
  const std::vector<std::string> texts = {"a red square", "a fractal", "colour bars", "a dog on a beach", "snow", "night traffic"};
  std::map<std::string, std::string> top;
  for (const auto& t : texts) top[t] = top_clip(t, db);
  std::string a, b;
  for (const auto& x : texts)
    for (const auto& y : texts)
      if (a.empty() && top[x] != top[y]) a = x, b = y;
  REQUIRE(!a.empty());
  INFO("A = " << a << " (" << top[a] << "), B = " << b << " (" << top[b] << ")");

  const auto ua = vector_of(a, "a.npy"), ub = vector_of(b, "b.npy");
  for (const auto& [w, written] : std::vector<std::pair<double, std::string>>{{3.0, "3"}, {0.25, "0.25"}}) {
    const std::string query = written + ":" + a + " - 0.5:" + b;
    const auto got = vector_of(query, "ab.npy");
    REQUIRE(got.size() == ua.size());
    std::vector<double> sum(ua.size());
    double norm = 0;
    for (std::size_t i = 0; i < sum.size(); ++i) norm += (sum[i] = w * ua[i] - 0.5 * ub[i]) * sum[i];
    norm = std::sqrt(norm);
    // The same float32 unit vectors combined in double both here and in xsearch: what differs is the
    // text encoder's own run-to-run rounding (threaded sums, about 1e-7) and the final float32 rounding;
    // 1e-5 is far below a wrong weight, which moves components by 1e-2 here.
    double worst = 0;
    for (std::size_t i = 0; i < sum.size(); ++i) worst = std::max(worst, std::fabs(sum[i] / norm - got[i]));
    CHECK(worst < 1e-5);
  }
  const auto j = run_json("query " + quote("2:" + a + " - 0.5:" + b) + " -k 1 --no-thumbnails" + db, 0);
  CHECK(j["terms"][0]["weight"] == 2.0);
  CHECK(j["terms"][1]["weight"] == 0.5);
  CHECK(j["terms"][1]["sign"] == -1);
  // The heavy term leads: with 50 times the other's weight, the best clip is its own best clip.
  CHECK(top_clip("50:" + a + " + " + b, db) == top[a]);
  CHECK(top_clip(a + " + 50:" + b, db) == top[b]);
  // On the command line the same message as in the parser, exit 2.
  const Result bad = xsearch_run("query " + quote("0:" + a) + db);
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("bad weight \"0\""));
}
