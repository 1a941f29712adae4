// `xsearch completion bash|zsh|fish` prints a shell completion script; the hidden `xsearch help-man`
// prints the manual page. Both read the app's own model of the commands, so the build makes the files
// the install puts in place (CMakeLists.txt) from the same source as --help.
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/completion.hpp"
#include "cli/man_page.hpp"
#include "cli/output.hpp"

namespace xsearch::cli {

void add_completion_commands(CLI::App& app, Runner& run) {
  auto shell = std::make_shared<std::string>();
  CLI::App* completion = app.add_subcommand(
      "completion", "Print a shell completion script: source <(xsearch completion bash), or install it where the shell looks");
  completion->add_option("shell", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  completion->callback([&app, &run, shell] {
    run = [&app, shell] {
      write_stdout(completion_script(app, *shell));
      return 0;
    };
  });

  // Hidden (an empty group): for the build, not for users.
  CLI::App* man = app.add_subcommand("help-man", "Print the manual page xsearch(1) in roff")->group("");
  man->callback([&app, &run] {
    run = [&app] {
      write_stdout(man_page(app, XSEARCH_VERSION));
      return 0;
    };
  });
}

}  // namespace xsearch::cli
