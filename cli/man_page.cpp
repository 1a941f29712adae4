#include "cli/man_page.hpp"

#include <sstream>

#include <fmt/core.h>

#include "cli/app_model.hpp"

namespace xsearch::cli {

namespace {

// Text as roff prints it: backslashes escaped, and a line that starts with '.' or '\'' is not a request.
// In option and command names, '-' is a minus sign (\-), which man pages keep ASCII when copied.
std::string roff(const std::string& text, bool name = false) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') out += "\\e";
    else if (c == '-' && name) out += "\\-";
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

std::string usage(const CommandNode& node) {
  std::string u = "\\fBxsearch" + (node.path.empty() ? "" : " " + roff(node.path, true)) + "\\fR";
  if (!visible_options(*node.app).empty()) u += " [\\fIOPTIONS\\fR]";
  for (const CLI::Option* p : positionals(*node.app)) {
    std::string name = "\\fI" + roff(p->get_name(true)) + "\\fR" + (p->get_expected_max() > 1 ? "..." : "");
    u += " " + (p->get_required() ? name : "[" + name + "]");
  }
  if (!visible_subcommands(*node.app).empty()) u += " \\fICOMMAND\\fR";
  return u;
}

// One option or argument as a tagged paragraph, its default and environment variable after its text.
std::string item(const CLI::Option& o) {
  std::string tag;
  if (o.nonpositional()) {
    for (const auto& n : option_names(o)) tag += (tag.empty() ? "" : ", ") + ("\\fB" + roff(n, true) + "\\fR");
    if (takes_value(o)) tag += " \\fI" + roff(o.get_type_name().empty() ? "VALUE" : o.get_type_name()) + "\\fR";
  } else {
    tag = "\\fI" + roff(o.get_name(true)) + "\\fR";
  }
  std::string text = roff(o.get_description());
  // A default the description does not state already; "[]" is an empty list's.
  const std::string def = o.get_default_str();
  if (takes_value(o) && !def.empty() && def != "[]" && o.get_description().find("default") == std::string::npos)
    text += " (default: " + roff(def) + ")";
  if (!o.get_envname().empty()) text += " (environment: \\fB" + roff(o.get_envname()) + "\\fR)";
  return ".TP\n" + tag + "\n" + text + "\n";
}

std::string command_section(const CommandNode& node) {
  std::string out = ".SS \"" + usage(node) + "\"\n" + roff(node.app->get_description()) + "\n";
  for (const CLI::Option* p : positionals(*node.app)) out += item(*p);
  for (const CLI::Option* o : visible_options(*node.app))
    if (!o->get_lnames().empty() && o->get_lnames().front() == "help") continue;  // every command has it
    else out += item(*o);
  const auto subs = visible_subcommands(*node.app);
  if (!subs.empty()) {
    out += ".PP\nCommands:";
    for (const CLI::App* s : subs) out += " \\fB" + roff(s->get_name(), true) + "\\fR";
    out += "\n";
  }
  return out;
}

// The --help footer: "Environment:" then "  NAME   text" entries (continued on deeper-indented lines),
// and "Exit status: ..."; any other line is kept as a paragraph of its own.
std::string footer_sections(const std::string& footer) {
  std::string env, exit_status, other;
  std::istringstream lines(footer);
  std::string line;
  bool in_env = false;
  while (std::getline(lines, line)) {
    if (line.rfind("Environment:", 0) == 0) {
      in_env = true;
    } else if (line.rfind("Exit status:", 0) == 0) {
      in_env = false;
      exit_status += roff(line.substr(line.find(':') + 2)) + "\n";
    } else if (in_env && line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ') {
      const auto gap = line.find("  ", 2);
      env += ".TP\n\\fB" + roff(line.substr(2, gap - 2)) + "\\fR\n";
      if (gap != std::string::npos) env += roff(line.substr(line.find_first_not_of(' ', gap))) + "\n";
    } else if (in_env && line.rfind("  ", 0) == 0) {
      env += roff(line.substr(line.find_first_not_of(' '))) + "\n";
    } else if (!line.empty()) {
      in_env = false;
      other += ".PP\n" + roff(line) + "\n";
    }
  }
  std::string out;
  if (!env.empty()) out += ".SH ENVIRONMENT\n" + env;
  if (!exit_status.empty()) out += ".SH \"EXIT STATUS\"\n" + exit_status;
  if (!other.empty()) out += ".SH NOTES\n" + other;
  return out;
}

}  // namespace

std::string man_page(const CLI::App& app, const std::string& version) {
  std::string summary = app.get_description();
  if (summary.rfind("xsearch: ", 0) == 0) summary = summary.substr(9);
  std::string out = fmt::format(".TH XSEARCH 1 \"\" \"xsearch {}\" \"User Commands\"\n", roff(version));
  out += ".SH NAME\nxsearch \\- " + roff(summary) + "\n";
  out += ".SH SYNOPSIS\n\\fBxsearch\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n";
  out += ".SH DESCRIPTION\n" + roff(summary) + ".\n";
  out += ".PP\n\\fBxsearch \\fIcommand\\fB \\-\\-help\\fR prints a command's help; "
         "\\fBxsearch completion\\fR \\fIbash\\fR|\\fIzsh\\fR|\\fIfish\\fR prints a shell completion script.\n";
  out += ".SH OPTIONS\n";
  for (const CLI::Option* o : visible_options(app)) out += item(*o);
  out += ".SH COMMANDS\n";
  const auto tree = command_tree(app);
  for (std::size_t i = 1; i < tree.size(); ++i) out += command_section(tree[i]);
  out += footer_sections(app.get_footer());
  return out;
}

}  // namespace xsearch::cli
