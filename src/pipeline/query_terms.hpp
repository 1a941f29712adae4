// A query text of `+` and `-` terms, as rclip reads them ("horse + stripes - grass", "2:horse + stripes"):
// the terms, each with its sign and weight, and how their embeddings combine into one query vector
// (README: query, "Combining").
#pragma once

#include <string>
#include <vector>

namespace xsearch::pipeline {

struct QueryTerm {
  std::string text;  // trimmed, never empty
  int sign = 1;      // +1 or -1
  double weight = 1; // "2:horse": 2 (rclip's multiplier prefix); always finite and > 0
};

// Splits `text` into terms. A `+` or `-` is a sign only where it starts a word: at the start of the text or
// after a space ("horse + stripes", "horse +stripes", "horse -grass"), so that "t-shirt", "x-ray", "C++" and
// "1+1" stay as they are. A sign before the first term is allowed ("-grass", "+cat").
// A term may start with a weight, as rclip's multiplier: digits with an optional decimal fraction, then
// ':' ("2:horse", "0.5:stripes", "- 3:grass"); it multiplies the term's unit vector in the sum. What starts
// with digits, '.', '+' or '-' then ':' and no digit after it ("10:30 sunset", "16:9" stay text) is read
// as a weight and must be one: "1.2.3:cat", "-2:cat" after a
// sign, "0:cat" (a term that counts for nothing), "1e3:cat" and a weight over kMaxTermWeight are refused.
// Throws xsearch::Error, quoting the text, for a sign with nothing after it ("cat +", "-", "a + + b"), for
// a bad weight or a weight with no term after it ("2:"), and for a text with no term at all.
std::vector<QueryTerm> split_terms(const std::string& text);

// Weights above this are refused: 1000 times another term already leaves it nothing to say, and a huge
// number is more likely a time or a typo than a weight.
constexpr double kMaxTermWeight = 1000;

// The normalised sum of the terms' unit vectors, each with its sign and weight:
// normalize(sum_i sign_i * weight_i * unit_i). One positive term gives its unit vector unchanged. Throws xsearch::Error when the sum is (nearly) zero,
// i.e. the terms cancel out ("cat - cat").
std::vector<float> combine_terms(const std::vector<QueryTerm>& terms, const std::vector<std::vector<float>>& units);

// The query vector of a text (already combined, unit) and an example (unit), the example weighing
// `weight` in [0, 1]: normalize((1 - weight) * text + weight * example). Throws xsearch::Error when the
// weighted sum is (nearly) zero (a text exactly opposite the example at weight 0.5).
std::vector<float> mix_text_and_example(const std::vector<float>& text, const std::vector<float>& example, double weight);

}  // namespace xsearch::pipeline
