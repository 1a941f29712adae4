// "Did you mean ...?" for commands and options (cli/suggest.hpp).
#include "cli/suggest.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

namespace xsearch::cli {

namespace {

// Words people type for what xsearch calls otherwise (other tools' names: rclip, grep, head, ...).
const std::map<std::string, std::string>& synonyms() {
  static const std::map<std::string, std::string> words = {
      {"search", "query"},      {"find", "query"},          {"lookup", "query"},       {"grep", "query"},
      {"index", "ingest"},      {"add", "ingest"},          {"scan", "ingest"},        {"import", "ingest"},
      {"update", "ingest"},     {"status", "info"},         {"stats", "info"},         {"show", "info"},
      {"delete", "remove"},     {"rm", "remove"},           {"forget", "remove"},      {"rebuild", "reindex"},
      {"server", "serve"},      {"web", "serve"},           {"ui", "serve"},           {"models", "model"},
      {"download", "model"},    {"pull", "model"},          {"thumbs", "thumbnails"},  {"cut", "export"},
      {"--top", "-k"},          {"--limit", "-k"},          {"-n", "-k"},              {"--num", "-k"},
      {"--count", "-k"},        {"--results", "-k"},        {"--max-results", "-k"},   {"--glob", "--path"},
      {"--filter", "--path"},   {"--folder", "--path"},     {"--dir", "--path"},       {"--threshold", "--min-score"},
      {"--min", "--min-score"}, {"--score", "--min-score"}, {"--play", "--open"},      {"--similar", "--like"},
      {"--gpu", "--device"},    {"--files", "--paths-only"}, {"-f", "--paths-only"},   {"--filepath-only", "--paths-only"},
      {"--group-by", "--group"}, {"--per-video", "--group"}, {"--output", "--clips"},  {"--out", "--clips"},
  };
  return words;
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

// The subcommands of `app` by name and alias (the const API is the same in CLI11 2.1 and 2.4).
const CLI::App* find_subcommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == name) return sub;
    for (const auto& alias : sub->get_aliases())
      if (alias == name) return sub;
  }
  return nullptr;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// Every option name of `app` and of the commands above it (--help is everywhere), with its dashes.
std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* a = &app; a; a = a->get_parent()) {
    for (const CLI::Option* o : a->get_options()) {
      for (const auto& l : o->get_lnames()) names.push_back("--" + l);
      for (const auto& s : o->get_snames()) names.push_back("-" + s);
    }
  }
  return names;
}

std::string full_name(const CLI::App& app) {
  std::string name = app.get_name();
  for (const CLI::App* a = app.get_parent(); a && a->get_parent(); a = a->get_parent()) name = a->get_name() + " " + name;
  return name;
}

}  // namespace

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  const auto synonym = synonyms().find(word);
  if (synonym != synonyms().end() && std::find(candidates.begin(), candidates.end(), synonym->second) != candidates.end())
    return synonym->second;
  // Dashes are not part of the typo: compare "--min-scor" with "--min-score", not with "-k".
  auto bare = [](const std::string& s) { return s.substr(s.find_first_not_of('-') == std::string::npos ? 0 : s.find_first_not_of('-')); };
  const std::string w = bare(word);
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, w.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::string b = bare(c);
    if (b.size() < 2) continue;  // one-letter options are reached by synonyms only: everything is 1 edit away
    std::size_t d = edit_distance(w, b);
    // A prefix ("--norm" for "--normal-priority") is as good as a small typo.
    if (w.size() >= 3 && b.compare(0, w.size(), w) == 0) d = std::min<std::size_t>(d, 1);
    if (d < best_distance) best = c, best_distance = d;
  }
  return best;
}

std::string unknown_command_message(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* at = &app;
  for (const auto& arg : args) {
    if (arg == "--") return "";
    if (!arg.empty() && arg[0] == '-') {
      if (at == &app) continue;  // --help, --version: CLI11 answers them
      return "";                 // the command's own options follow: CLI11 parses them
    }
    // Only a command that has subcommands, and needs one, takes a subcommand here.
    if (at->get_subcommands([](const CLI::App*) { return true; }).empty() || at->get_require_subcommand_min() == 0) return "";
    const CLI::App* next = find_subcommand(*at, arg);
    if (!next) {
      const std::string where = at == &app ? "" : full_name(*at) + " ";
      const std::string close = closest_name(arg, subcommand_names(*at));
      std::string message = "unknown command '" + where + arg + "'";
      if (!close.empty()) message += "; did you mean '" + where + close + "'?";
      return message + "\nRun 'xsearch " + where + "--help' to see the commands.";
    }
    at = next;
  }
  return "";
}

std::string unknown_option_message(const CLI::App& app, const std::vector<std::string>& args) {
  // The command the options belong to: the last subcommand named on the line.
  const CLI::App* at = &app;
  std::vector<std::string> unknown;
  bool positional_only = false;
  for (const auto& arg : args) {
    if (positional_only) continue;
    if (arg == "--") {
      positional_only = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-' || is_number(arg)) {
      if (const CLI::App* next = find_subcommand(*at, arg)) at = next;
      continue;
    }
    const std::string name = arg.substr(0, arg.find('='));
    const auto known = option_names(*at);
    // "-k5": a short option with its value attached.
    const bool short_with_value = name[1] != '-' && std::find(known.begin(), known.end(), name.substr(0, 2)) != known.end();
    if (std::find(known.begin(), known.end(), name) == known.end() && !short_with_value) {
      const std::string close = closest_name(name, known);
      unknown.push_back("unknown option " + name + (at == &app ? "" : " for '" + full_name(*at) + "'") +
                        (close.empty() ? "" : "; did you mean " + close + "?"));
    }
  }
  std::string message;
  for (const auto& u : unknown) message += (message.empty() ? "" : "\nxsearch: ") + u;
  if (!message.empty()) message += "\nRun 'xsearch " + (at == &app ? "" : full_name(*at) + " ") + "--help' to see its options.";
  return message;
}

}  // namespace xsearch::cli
