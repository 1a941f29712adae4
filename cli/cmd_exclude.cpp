// `xsearch exclude list|add|remove`: the exclusions a library remembers per root (also added by
// `ingest ROOT --exclude GLOB`). Every later ingest or watch of the root skips what they match; videos
// already stored there are kept until `xsearch remove PATH` (an exclusion never deletes anything itself).
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "pipeline/ingest/exclusions.hpp"
#include "pipeline/paths.hpp"
#include "xsearch/error.hpp"

namespace xsearch::cli {

namespace {

struct ExcludeArgs {
  std::string db, root;
  std::vector<std::string> patterns;
  bool json = false, no_wait = false;
};

Library open_writable(const ExcludeArgs& a) {
  LibraryOpenOptions o;
  o.writable = true;  // an existing library only: a mistyped --db must not create one
  o.wait = !a.no_wait;
  o.on_wait = [](const std::string& message) { fmt::print(stderr, "xsearch: {}\n", message); };
  return Library::open(resolve_db(a.db), o);
}

int run_list(const ExcludeArgs& a) {
  const Library library = Library::open(resolve_db(a.db), false);
  const std::string root = a.root.empty() ? "" : absolute_path(a.root);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  std::string last_root;
  for (const auto& e : library.exclusions()) {
    if (!root.empty() && e.root != root) continue;
    if (a.json) {
      out.push_back({{"root", e.root}, {"pattern", e.pattern}});
      continue;
    }
    if (e.root != last_root) write_stdout(e.root + "\n");
    last_root = e.root;
    write_stdout("  " + e.pattern + "\n");
  }
  if (a.json) write_json(out);
  return 0;
}

// The library's videos under `root` that `rules` cover: kept, and said, with the command that removes them.
void say_stored(const Library& library, const std::string& root, const pipeline::ExcludeRules& rules, bool json, int64_t& count) {
  count = 0;
  std::string example;
  for (const auto& v : library.videos())
    if (path_under(v.path, root) && rules.excluded(v.path) && count++ == 0) example = v.path;
  if (count > 0 && !json)
    fmt::print(stderr, "xsearch: {} already in the library {} under it (such as {}); kept and searchable: "
               "`xsearch remove PATH` removes them\n", count == 1 ? "1 video" : std::to_string(count) + " videos", count == 1 ? "lies" : "lie", example);
}

int run_add(const ExcludeArgs& a) {
  std::vector<std::string> patterns;
  for (const auto& p : a.patterns) patterns.push_back(pipeline::normalize_exclude_pattern(p));  // all checked before any is stored
  Library library = open_writable(a);
  const std::string root = absolute_path(a.root);
  std::vector<Exclusion> added;
  for (const auto& p : patterns) {
    const Exclusion e{root, p};
    if (library.add_exclusion(e)) added.push_back(e);
    else if (!a.json) fmt::print(stderr, "xsearch: {}: '{}' was already excluded\n", root, p);
  }
  int64_t stored = 0;
  say_stored(library, root, pipeline::ExcludeRules(added), a.json, stored);
  if (a.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& e : added) list.push_back(e.pattern);
    write_json({{"root", root}, {"added", list}, {"stored_under", stored}});
  } else {
    for (const auto& e : added) write_stdout(fmt::format("excluded under {}: {}\n", root, e.pattern));
  }
  return 0;
}

int run_remove(const ExcludeArgs& a) {
  Library library = open_writable(a);
  const std::string root = absolute_path(a.root);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  int missing = 0;
  for (const auto& raw : a.patterns) {
    const std::string p = pipeline::normalize_exclude_pattern(raw);
    if (library.remove_exclusion({root, p})) {
      list.push_back(p);
      if (!a.json) write_stdout(fmt::format("no longer excluded under {}: {} (the next ingest of {} walks it)\n", root, p, root));
    } else {
      ++missing;
      fmt::print(stderr, "xsearch: {}: no exclusion '{}' (`xsearch exclude list` shows them)\n", root, p);
    }
  }
  if (a.json) write_json({{"root", root}, {"removed", list}});
  return missing > 0 ? 1 : 0;
}

}  // namespace

void add_exclude_commands(CLI::App& app, Runner& run) {
  CLI::App* cmd = app.add_subcommand(
      "exclude", "List, add or drop the patterns a library skips under a root (kept in the library; `ingest --exclude` adds them too)");
  cmd->require_subcommand(1);
  auto l = std::make_shared<ExcludeArgs>();
  CLI::App* list = cmd->add_subcommand("list", "The exclusions of every root, or of ROOT");
  list->add_option("root", l->root, "Only this root");
  add_db_option(list, l->db);
  list->add_flag("--json", l->json, "Print JSON");
  list->callback([l, &run] { run = [l] { return run_list(*l); }; });

  const std::string pattern_help =
      "Relative to ROOT: a glob ('Holiday 2024/**', '**/*.tmp'; * also crosses /) or a plain folder or file path";
  auto ad = std::make_shared<ExcludeArgs>();
  CLI::App* add = cmd->add_subcommand("add", "Skip what PATTERN matches under ROOT in every later ingest and watch");
  add->add_option("root", ad->root, "The root folder the pattern is relative to")->required();
  add->add_option("patterns", ad->patterns, pattern_help)->required();
  add_db_option(add, ad->db);
  add->add_flag("--json", ad->json, "Print JSON");
  add->add_flag("--no-wait", ad->no_wait, "Fail at once if another xsearch is writing the library");
  add->callback([ad, &run] { run = [ad] { return run_add(*ad); }; });

  auto r = std::make_shared<ExcludeArgs>();
  CLI::App* remove = cmd->add_subcommand("remove", "Drop exclusions of ROOT: the next ingest walks there again");
  remove->add_option("root", r->root, "The root folder the pattern was given for")->required();
  remove->add_option("patterns", r->patterns, "As `xsearch exclude list` shows them")->required();
  add_db_option(remove, r->db);
  remove->add_flag("--json", r->json, "Print JSON");
  remove->add_flag("--no-wait", r->no_wait, "Fail at once if another xsearch is writing the library");
  remove->callback([r, &run] { run = [r] { return run_remove(*r); }; });
}

}  // namespace xsearch::cli
