// What the generated help (the man page, the shell completions) reads from CLI11's model of the commands:
// the commands and options a user sees in --help, in the order --help shows them. A hidden command or
// option (CLI11's empty group) stays hidden there too; CLI11's option groups, nameless apps, are not
// commands.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace xsearch::cli {

inline std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty() && !s->get_group().empty(); });
}

inline std::vector<const CLI::Option*> visible_options(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return o->nonpositional() && !o->get_group().empty(); });
}

inline std::vector<const CLI::Option*> positionals(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return !o->nonpositional(); });
}

// The option needs a value in the next word (or after '='); flags take none, `--open [N]` an optional one.
inline bool needs_value(const CLI::Option& o) { return o.get_expected_min() > 0 && o.get_type_size_max() > 0; }
inline bool takes_value(const CLI::Option& o) { return o.get_expected_max() > 0 && o.get_type_size_max() > 0; }

// Every name of the option as typed: "-k", "--db".
inline std::vector<std::string> option_names(const CLI::Option& o) {
  std::vector<std::string> names;
  for (const auto& s : o.get_snames()) names.push_back("-" + s);
  for (const auto& l : o.get_lnames()) names.push_back("--" + l);
  return names;
}

// The first line of a description, for one-line completion menus.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// A command and the names that lead to it from the root ("" for the root, "model pull").
struct CommandNode {
  const CLI::App* app;
  std::string path;
};

// The root and every visible command under it, each followed by its own subcommands (as a manual lists them).
inline void add_command_tree(const CommandNode& node, std::vector<CommandNode>& nodes) {
  nodes.push_back(node);
  for (const CLI::App* sub : visible_subcommands(*node.app))
    add_command_tree({sub, node.path.empty() ? sub->get_name() : node.path + " " + sub->get_name()}, nodes);
}
inline std::vector<CommandNode> command_tree(const CLI::App& root) {
  std::vector<CommandNode> nodes;
  add_command_tree({&root, ""}, nodes);
  return nodes;
}

}  // namespace xsearch::cli
