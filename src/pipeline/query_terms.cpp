#include "pipeline/query_terms.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "pipeline/vectors.hpp"
#include "xsearch/error.hpp"

namespace xsearch::pipeline {

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string trimmed(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && space(s[a])) ++a;
  while (b > a && space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

// Below this length a sum of unit vectors is taken as zero: the terms cancel out, and normalising would
// only blow up float rounding into a direction that means nothing. Sums of a few unit vectors that do
// not cancel are orders of magnitude longer.
constexpr double kCancelled = 1e-4;

double length(const std::vector<double>& v) {
  double n = 0;
  for (double x : v) n += x * x;
  return std::sqrt(n);
}

std::vector<float> unit(const std::vector<double>& v) {
  const double n = length(v);
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i] / n);
  return out;
}

// "2:horse" -> 2 and "horse" in `term`; 1 and the term unchanged without a weight. `fail` throws.
template <typename Fail>
double take_weight(std::string& term, const Fail& fail) {
  std::size_t n = 0;
  while (n < term.size() && (std::isdigit(static_cast<unsigned char>(term[n])) || term[n] == '.' || term[n] == '+' || term[n] == '-')) ++n;
  const std::string prefix = term.substr(0, n);
  // Not a weight: no ':' right after, or no digit in it ("...: more", "C++: a book" stay text).
  if (n == term.size() || term[n] != ':' || prefix.find_first_of("0123456789") == std::string::npos) return 1;
  // A digit right after the ':' makes a time or a ratio ("10:30 sunset", "16:9 footage"), not a weight.
  if (n + 1 < term.size() && std::isdigit(static_cast<unsigned char>(term[n + 1]))) return 1;
  const auto bad = [&](const std::string& why) { fail("bad weight \"" + prefix + "\" in \"" + term + "\": " + why); };
  const std::size_t dot = prefix.find('.');
  const bool decimal = prefix.find_first_not_of("0123456789.") == std::string::npos && std::isdigit(static_cast<unsigned char>(prefix[0])) &&
                       (dot == std::string::npos || (prefix.find('.', dot + 1) == std::string::npos && dot + 1 < prefix.size()));
  if (!decimal) bad("a weight is a positive number such as 2 or 0.5 (a sign goes before it: \"- 2:grass\")");
  const double w = std::strtod(prefix.c_str(), nullptr);
  if (!(w > 0)) bad("0 would drop the term");
  if (!(w <= kMaxTermWeight)) bad("at most " + std::to_string(static_cast<int>(kMaxTermWeight)));
  const std::string rest = trimmed(term.substr(n + 1));
  if (rest.empty()) bad("nothing after it");
  term = rest;
  return w;
}

}  // namespace

std::vector<QueryTerm> split_terms(const std::string& text) {
  auto fail = [&](const std::string& why) { throw Error("query \"" + text + "\": " + why); };
  std::vector<QueryTerm> terms;
  std::string current;
  int sign = 1;
  bool signed_term = false;  // a sign was written before the current term
  auto finish = [&](char next_sign) {
    std::string t = trimmed(current);
    if (t.empty()) {
      // Nothing since the last sign ("a + + b", "cat +", "-") is an error; nothing before the first sign
      // is a sign before the first term ("-grass").
      if (signed_term) fail(std::string("nothing after \"") + (sign > 0 ? '+' : '-') + "\"");
    } else {
      const double weight = take_weight(t, fail);
      terms.push_back({t, sign, weight});
    }
    current.clear();
    sign = next_sign == '-' ? -1 : 1;
    signed_term = next_sign != 0;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool word_start = i == 0 || space(text[i - 1]);
    if ((c == '+' || c == '-') && word_start) finish(c);
    else current += c;
  }
  if (trimmed(current).empty() && !signed_term && terms.empty()) fail("nothing to look for");
  finish(0);
  return terms;
}

std::vector<float> combine_terms(const std::vector<QueryTerm>& terms, const std::vector<std::vector<float>>& units) {
  if (terms.size() == 1 && terms[0].sign > 0) return units.at(0);  // the same numbers as a plain text query
  std::vector<double> sum(units.at(0).size(), 0.0);
  for (std::size_t t = 0; t < terms.size(); ++t)
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += terms[t].sign * terms[t].weight * static_cast<double>(units.at(t).at(i));
  if (length(sum) < kCancelled) throw Error("query: the terms cancel out (their sum is zero): nothing left to look for");
  return unit(sum);
}

std::vector<float> mix_text_and_example(const std::vector<float>& text, const std::vector<float>& example, double weight) {
  if (!(weight >= 0 && weight <= 1)) throw Error("--weight must be between 0 and 1");
  if (text.size() != example.size())
    throw Error("query: the text's embedding has " + std::to_string(text.size()) + " values and the example's " +
                std::to_string(example.size()));
  std::vector<double> sum(text.size());
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = (1 - weight) * text[i] + weight * static_cast<double>(example[i]);
  if (length(sum) < kCancelled) throw Error("query: the text and the example cancel out at --weight " + std::to_string(weight));
  return unit(sum);
}

}  // namespace xsearch::pipeline
