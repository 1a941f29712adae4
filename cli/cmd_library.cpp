// `xsearch info`, `xsearch remove PATH`, `xsearch reindex`: look after the library.
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "xsearch/pipeline.hpp"

namespace xsearch::cli {

namespace {

struct LibraryArgs {
  std::string db, path;
  bool json = false;
};

int run_info(const LibraryArgs& a) {
  Library library = Library::open(resolve_db(a.db), false);
  const auto model = library.model();
  const auto videos = library.videos();
  int64_t failed = 0;
  for (const auto& v : videos) failed += v.status == "failed";
  const int64_t clips = library.clip_count();
  const std::string index = clips > Library::exact_search_limit() ? "ivf" : "exact";
  if (a.json) {
    write_json({{"db", library.path().string()},
                {"model", model ? nlohmann::ordered_json(model->name) : nlohmann::ordered_json(nullptr)},
                {"videos", library.video_count()},
                {"clips", clips},
                {"failed", failed},
                {"embedding_dim", model ? model->dim : 0},
                {"prompt_tokens", library.prompt_token_count()},
                {"index", index}});
  } else {
    write_stdout(fmt::format("library: {}\nmodel: {}\nvideos: {} ({} failed)\nclips: {}\nindex: {} ({})\n",
                             library.path().string(), model ? model->name : "(none yet)", library.video_count(), failed,
                             clips, index, library.index_path().string()));
  }
  return 0;
}

int run_remove(const LibraryArgs& a) {
  const int64_t n = remove_videos(resolve_db(a.db), a.path);
  if (a.json) write_json({{"removed", n}});
  else write_stdout(fmt::format("removed {} video{}\n", n, n == 1 ? "" : "s"));
  return n > 0 ? 0 : 1;
}

int run_reindex(const LibraryArgs& a) {
  Library library = Library::open(resolve_db(a.db), true);
  library.rebuild_index();
  if (a.json) write_json({{"clips", library.clip_count()}, {"index", library.index_path().string()}});
  else write_stdout(fmt::format("rebuilt {} from {} clips\n", library.index_path().string(), library.clip_count()));
  return 0;
}

}  // namespace

void add_library_commands(CLI::App& app, Runner& run) {
  auto i = std::make_shared<LibraryArgs>();
  CLI::App* info = app.add_subcommand("info", "Show what the library holds");
  add_db_option(info, i->db);
  info->add_flag("--json", i->json, "Print JSON");
  info->callback([i, &run] { run = [i] { return run_info(*i); }; });

  auto r = std::make_shared<LibraryArgs>();
  CLI::App* remove = app.add_subcommand("remove", "Remove a video, or every video under a folder, from the library");
  remove->add_option("path", r->path, "Video file or folder")->required();
  add_db_option(remove, r->db);
  remove->add_flag("--json", r->json, "Print JSON");
  remove->callback([r, &run] { run = [r] { return run_remove(*r); }; });

  auto x = std::make_shared<LibraryArgs>();
  CLI::App* reindex = app.add_subcommand("reindex", "Rebuild the vector index from the stored embeddings");
  add_db_option(reindex, x->db);
  reindex->add_flag("--json", x->json, "Print JSON");
  reindex->callback([x, &run] { run = [x] { return run_reindex(*x); }; });
}

}  // namespace xsearch::cli
