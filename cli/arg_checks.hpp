// Range checks for numeric options with messages people can read ("-k must be between 1 and 1000"):
// CLI11's PositiveNumber printed the largest double, 300 digits, as the upper bound. Called from a
// command's parse callback, so the error is a parse error (status 2, like any other usage error).
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

namespace xsearch::cli {

template <typename T>
void require_between(const std::string& name, T value, T low, T high) {
  if (value < low || value > high) throw CLI::ValidationError(fmt::format("{} must be between {} and {} (got {})", name, low, high, value));
}

template <typename T>
void require_above(const std::string& name, T value, T low) {
  if (!(value > low)) throw CLI::ValidationError(fmt::format("{} must be more than {} (got {})", name, low, value));
}

template <typename T>
void require_at_least(const std::string& name, T value, T low) {
  if (value < low) throw CLI::ValidationError(fmt::format("{} must be {} or more (got {})", name, low, value));
}

}  // namespace xsearch::cli
