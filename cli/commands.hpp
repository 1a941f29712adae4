// Each file cmd_*.cpp adds its subcommands to the app. A subcommand's callback stores in `run` the work to
// do once parsing has succeeded; `run` returns the exit status (0 ok, 1 nothing found, 2 error).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace xsearch::cli {

using Runner = std::function<int()>;

void add_dev_commands(CLI::App& app, Runner& run);
void add_dev_video_commands(CLI::App& dev, Runner& run);
void add_ingest_command(CLI::App& app, Runner& run);
void add_watch_command(CLI::App& app, Runner& run);
void add_exclude_commands(CLI::App& app, Runner& run);
void add_query_command(CLI::App& app, Runner& run);
void add_export_command(CLI::App& app, Runner& run);
void add_library_commands(CLI::App& app, Runner& run);
void add_classify_command(CLI::App& app, Runner& run);
void add_model_commands(CLI::App& app, Runner& run);
void add_serve_command(CLI::App& app, Runner& run);
void add_thumbnails_command(CLI::App& app, Runner& run);
// `completion SHELL` and the hidden `help-man`, made from `app`'s commands as they are when run.
void add_completion_commands(CLI::App& app, Runner& run);
// Downloads a hub model with a progress bar on a terminal; returns its snapshot folder.
std::filesystem::path pull_with_progress(const std::string& id, bool quiet);

}  // namespace xsearch::cli
