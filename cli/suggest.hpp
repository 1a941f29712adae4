// "Did you mean ...?" for a mistyped command or option: the closest known name by edit distance, or a
// known synonym (`search` for `query`, `--top` for `-k`), as git and cargo suggest. Built on CLI11's
// public API only, which is the same in CLI11 2.1 (Debian 12) and 2.4 (Debian 13).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace xsearch::cli {

// Levenshtein distance (insertions, deletions, substitutions), bytes.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word` (a synonym first, then at most a third of the word's length in edits,
// and at least 2); "" when none is close.
std::string closest_name(const std::string& word, const std::vector<std::string>& candidates);

// Before parsing: when `args` (argv without the program) name a command that does not exist, the
// message to print ("unknown command 'search'; did you mean 'query'?"); else "".
std::string unknown_command_message(const CLI::App& app, const std::vector<std::string>& args);

// After CLI11 refused arguments it did not expect: a message naming each unknown option of the
// command that was being parsed, with the closest option when there is one; "" when none starts with '-'.
std::string unknown_option_message(const CLI::App& app, const std::vector<std::string>& unexpected);

}  // namespace xsearch::cli
