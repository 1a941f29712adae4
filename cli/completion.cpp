#include "cli/completion.hpp"

#include <fmt/core.h>

#include "cli/app_model.hpp"
#include "xsearch/error.hpp"

namespace xsearch::cli {

namespace {

// Inside single quotes, for bash and zsh: a quote ends the string, then an escaped one, then it restarts.
std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Inside single quotes for fish, where \ and ' are escaped with a backslash.
std::string fish_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') q += '\\';
    q += c;
  }
  return q + "'";
}

std::string join_names(const std::vector<const CLI::App*>& subs) {
  std::string out;
  for (const CLI::App* s : subs) out += (out.empty() ? "" : " ") + s->get_name();
  return out;
}

// ---- bash: the command path is found by walking the words typed so far, skipping options and their values.
std::string bash_script(const CLI::App& app) {
  const auto tree = command_tree(app);
  std::string subcommands, options, valued;
  for (const auto& node : tree) {
    if (const auto subs = visible_subcommands(*node.app); !subs.empty())
      subcommands += fmt::format("    {}) echo {} ;;\n", sh_quote(node.path), sh_quote(join_names(subs)));
    std::string names;
    for (const CLI::Option* o : visible_options(*node.app))
      for (const auto& n : option_names(*o)) {
        names += (names.empty() ? "" : " ") + n;
        if (needs_value(*o)) valued += fmt::format("    {}) return 0 ;;\n", sh_quote(node.path + " " + n));
      }
    options += fmt::format("    {}) echo {} ;;\n", sh_quote(node.path), sh_quote(names));
  }
  return fmt::format(R"SH(# bash completion for xsearch, made by `xsearch completion bash` from its commands.
_xsearch_subcommands() {{
  case "$1" in
{}  esac
}}
_xsearch_options() {{
  case "$1" in
{}  esac
}}
# Whether option $2 of command $1 takes its value in the next word.
_xsearch_needs_value() {{
  case "$1 $2" in
{}  esac
  return 1
}}
_xsearch() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} path= i w s skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${{COMP_WORDS[i]}}
    if ((skip)); then skip=0; continue; fi
    if [[ $w == -* ]]; then
      if [[ $w != *=* ]] && _xsearch_needs_value "$path" "$w"; then skip=1; fi
      continue
    fi
    for s in $(_xsearch_subcommands "$path"); do
      if [[ $w == "$s" ]]; then path=${{path:+$path }}$w; break; fi
    done
  done
  COMPREPLY=()
  if ((!skip)) && [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_xsearch_options "$path")" -- "$cur")
    return
  fi
  s=$(_xsearch_subcommands "$path")
  if ((!skip)) && [[ -n $s ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$s" -- "$cur")
    return
  fi
  # A value or a positional argument: most are files or folders.
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}}
complete -F _xsearch xsearch
)SH",
                     subcommands, options, valued);
}

// ---- zsh: one function per command, _arguments for its options, and a state machine for its subcommands.
std::string zsh_bracket(const std::string& s) {
  std::string out;
  for (char c : first_line(s)) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string zsh_function_name(const std::string& path) {
  std::string name = path.empty() ? "_xsearch" : "_xsearch_";
  for (char c : path) name += (c == ' ' || c == '-') ? '_' : c;
  return name;
}

std::string zsh_function(const CommandNode& node) {
  std::string specs;
  for (const CLI::Option* o : visible_options(*node.app)) {
    const std::string type = o->get_type_name();
    // Numbers get no completion; any other value is most often a file or a folder.
    const bool number = type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0 || type.rfind("FLOAT", 0) == 0;
    for (const auto& n : option_names(*o)) {
      std::string spec = n;
      if (takes_value(*o) && n.rfind("--", 0) == 0) spec += '=';
      spec += "[" + zsh_bracket(o->get_description()) + "]";
      if (takes_value(*o)) spec += std::string(needs_value(*o) ? ":" : "::") + "value:" + (number ? " " : "_files");
      specs += " \\\n    " + sh_quote(spec);
    }
  }
  const auto subs = visible_subcommands(*node.app);
  if (subs.empty()) {
    if (!positionals(*node.app).empty()) specs += " \\\n    '*:file:_files'";
    return fmt::format("{}() {{\n  _arguments -s{}\n}}\n", zsh_function_name(node.path), specs);
  }
  std::string described, dispatch;
  for (const CLI::App* s : subs) {
    std::string name;
    for (char c : s->get_name()) name += c == ':' ? std::string("\\:") : std::string(1, c);
    described += " \\\n    " + sh_quote(name + ":" + first_line(s->get_description()));
    dispatch += fmt::format("        {}) {} ;;\n", s->get_name(), zsh_function_name(node.path.empty() ? s->get_name() : node.path + " " + s->get_name()));
  }
  return fmt::format(R"SH({}() {{
  local curcontext=$curcontext state state_descr line
  typeset -A opt_args
  _arguments -C{} \
    '1: :->command' \
    '*:: :->args'
  case $state in
    command)
      local -a commands
      commands=({}
      )
      _describe -t commands command commands ;;
    args)
      case $line[1] in
{}      esac ;;
  esac
}}
)SH",
                     zsh_function_name(node.path), specs, described, dispatch);
}

std::string zsh_script(const CLI::App& app) {
  std::string out = "#compdef xsearch\n# zsh completion for xsearch, made by `xsearch completion zsh` from its commands.\n";
  const auto tree = command_tree(app);
  for (auto it = tree.rbegin(); it != tree.rend(); ++it) out += "\n" + zsh_function(*it);
  // Run by compinit's autoload (the first call) or sourced by hand (then it registers itself).
  out += "\nif [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n  _xsearch \"$@\"\nelse\n  compdef _xsearch xsearch\nfi\n";
  return out;
}

// ---- fish: __xsearch_path walks the words typed so far (as the bash script does); each completion holds
// for one command path.
std::string fish_script(const CLI::App& app) {
  const auto tree = command_tree(app);
  std::string subcommands, valued, completions;
  for (const auto& node : tree) {
    const std::string at = fish_quote("__xsearch_at '" + node.path + "'");
    const auto subs = visible_subcommands(*node.app);
    if (!subs.empty()) {
      subcommands += fmt::format("        case {}\n            printf '%s\\n' {}\n", fish_quote(node.path), join_names(subs));
      completions += fmt::format("complete -c xsearch -n {} -f\n", at);
      for (const CLI::App* s : subs)
        completions += fmt::format("complete -c xsearch -n {} -f -a {} -d {}\n", at, fish_quote(s->get_name()),
                                   fish_quote(first_line(s->get_description())));
    }
    for (const CLI::Option* o : visible_options(*node.app)) {
      std::string line = "complete -c xsearch -n " + at;
      for (const auto& s : o->get_snames()) line += " -s " + fish_quote(s);
      for (const auto& l : o->get_lnames()) line += " -l " + fish_quote(l);
      if (needs_value(*o)) line += " -r";
      completions += line + " -d " + fish_quote(first_line(o->get_description())) + "\n";
      if (needs_value(*o))
        for (const auto& n : option_names(*o)) valued += " " + fish_quote(node.path.empty() ? n : node.path + " " + n);
    }
  }
  return fmt::format(R"SH(# fish completion for xsearch, made by `xsearch completion fish` from its commands.
function __xsearch_subcommands
    switch $argv[1]
{}    end
end

# The subcommands typed so far ("model pull"), options and their values skipped.
function __xsearch_path
    set -l path ''
    set -l skip 0
    for w in (commandline -opc)[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        if string match -q -- '-*' $w
            if not string match -q -- '*=*' $w; and contains -- (string trim -- "$path $w") {}
                set skip 1
            end
            continue
        end
        if contains -- $w (__xsearch_subcommands $path)
            set path (string trim -- "$path $w")
        end
    end
    echo $path
end

function __xsearch_at
    set -l path (__xsearch_path)
    test "$path" = "$argv[1]"
end

{})SH",
                     subcommands, valued.empty() ? "''" : valued, completions);
}

}  // namespace

std::string completion_script(const CLI::App& app, const std::string& shell) {
  if (shell == "bash") return bash_script(app);
  if (shell == "zsh") return zsh_script(app);
  if (shell == "fish") return fish_script(app);
  throw Error("completion: unknown shell '" + shell + "' (bash, zsh or fish)");
}

}  // namespace xsearch::cli
