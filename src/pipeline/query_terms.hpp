// A query text of `+` and `-` terms, as rclip reads them ("horse + stripes - grass"): the terms, each with
// its sign, and how their embeddings combine into one query vector (README: query, "Combining").
#pragma once

#include <string>
#include <vector>

namespace xsearch::pipeline {

struct QueryTerm {
  std::string text;  // trimmed, never empty
  int sign = 1;      // +1 or -1
};

// Splits `text` into terms. A `+` or `-` is a sign only where it starts a word: at the start of the text or
// after a space ("horse + stripes", "horse +stripes", "horse -grass"), so that "t-shirt", "x-ray", "C++" and
// "1+1" stay as they are. A sign before the first term is allowed ("-grass", "+cat").
// Throws xsearch::Error, quoting the text, for a sign with nothing after it ("cat +", "-", "a + + b") and
// for a text with no term at all.
std::vector<QueryTerm> split_terms(const std::string& text);

// The normalised sum of the terms' unit vectors, each with its sign: normalize(sum_i sign_i * unit_i).
// One positive term gives its unit vector unchanged. Throws xsearch::Error when the sum is (nearly) zero,
// i.e. the terms cancel out ("cat - cat").
std::vector<float> combine_terms(const std::vector<QueryTerm>& terms, const std::vector<std::vector<float>>& units);

// The query vector of a text (already combined, unit) and an example (unit), the example weighing
// `weight` in [0, 1]: normalize((1 - weight) * text + weight * example). Throws xsearch::Error when the
// weighted sum is (nearly) zero (a text exactly opposite the example at weight 0.5).
std::vector<float> mix_text_and_example(const std::vector<float>& text, const std::vector<float>& example, double weight);

}  // namespace xsearch::pipeline
