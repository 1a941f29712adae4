// Shell completion scripts made from CLI11's model of the commands (`xsearch completion bash|zsh|fish`;
// the build runs it to make the files the install puts where each shell looks). A command or option added
// to the CLI is completed without touching this code.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace xsearch::cli {

// The completion script of `shell` ("bash", "zsh" or "fish") for the command `app`; throws xsearch::Error
// for another shell.
std::string completion_script(const CLI::App& app, const std::string& shell);

}  // namespace xsearch::cli
