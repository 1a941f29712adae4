// The manual page xsearch(1) made from CLI11's model of the commands (`xsearch help-man`, run by the build):
// every visible command with its description, arguments and options (their defaults and environment
// variables), and the environment and exit status of the app's --help footer.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace xsearch::cli {

// The page in roff (man -l renders it); `version` goes in its header.
std::string man_page(const CLI::App& app, const std::string& version);

}  // namespace xsearch::cli
