// `xsearch info`, `xsearch remove PATH`, `xsearch reindex`: look after the library.
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "xsearch/pipeline.hpp"

namespace xsearch::cli {

namespace {

struct LibraryArgs {
  std::string db, path;
  bool json = false, no_wait = false;
};

// remove and reindex: write to an existing library (never create one), one writer at a time.
Library open_for_writing(const LibraryArgs& a) {
  LibraryOpenOptions o;
  o.writable = true;
  o.wait = !a.no_wait;
  o.on_wait = [](const std::string& message) { fmt::print(stderr, "xsearch: {}\n", message); };
  return Library::open(resolve_db(a.db), o);
}

int run_info(const LibraryArgs& a) {
  Library library = Library::open(resolve_db(a.db), false);
  const auto model = library.model();
  const VideoCounts counts = library.video_counts();
  const int64_t failed = counts.failed;
  const int64_t clips = library.clip_count();
  const std::string index = clips > Library::exact_search_limit() ? "ivf" : "exact";
  const WorkStatus work = library.work_status();
  nlohmann::ordered_json workers = nlohmann::ordered_json::array();
  for (const auto& w : work.workers)
    workers.push_back({{"id", w.id}, {"host", w.host}, {"pid", w.pid}, {"status", w.status}, {"started_at", w.started_at},
                       {"last_seen", w.last_seen}, {"done", w.done}});
  if (a.json) {
    nlohmann::ordered_json out = {{"db", library.path().string()},
                {"backend", library.shared() ? "postgresql" : "sqlite"},
                {"model", model ? nlohmann::ordered_json(model->name) : nlohmann::ordered_json(nullptr)},
                {"videos", library.video_count()},
                {"clips", clips},
                {"failed", failed},
                {"partial", counts.partial},
                {"embedding_dim", model ? model->dim : 0},
                {"prompt_tokens", library.prompt_token_count()},
                {"index", index}};
    if (library.shared())
      out["work"] = {{"live_workers", work.live_workers}, {"done", work.done}, {"claimed", work.claimed}, {"pending", work.pending},
                     {"workers", workers}};
    write_json(out);
  } else {
    // "videos" are the searchable ones (partial included); files that failed are not among them, and are
    // named apart so that "4 (1 failed)" is not read as 3 good videos.
    const int64_t videos = library.video_count();
    std::string video_line = fmt::format("videos: {} searchable", videos);
    if (counts.partial > 0) video_line += fmt::format(" ({} of them partial: indexed up to a read error)", counts.partial);
    if (failed > 0) video_line += fmt::format("; {} more file{} failed to index", failed, failed == 1 ? "" : "s");
    write_stdout(fmt::format("library: {}\nmodel: {}\n{}\nclips: {}\nindex: {} ({})\n", library.path().string(),
                             model ? model->name : "(none yet)", video_line, clips, index, library.index_path().string()));
    if (library.shared()) {
      write_stdout(fmt::format("work: {} live worker{}, {} done, {} claimed, {} pending\n", work.live_workers,
                               work.live_workers == 1 ? "" : "s", work.done, work.claimed, work.pending));
      for (const auto& w : work.workers)
        write_stdout(fmt::format("  worker {} (pid {} on {}): {}, {} done\n", w.id, w.pid, w.host, w.status, w.done));
    }
  }
  return 0;
}

int run_remove(const LibraryArgs& a) {
  Library library = open_for_writing(a);
  const int64_t n = remove_videos(library, a.path);
  if (a.json) write_json({{"removed", n}});
  else write_stdout(fmt::format("removed {} video{}\n", n, n == 1 ? "" : "s"));
  return n > 0 ? 0 : 1;
}

int run_reindex(const LibraryArgs& a) {
  Library library = open_for_writing(a);
  library.rebuild_index({}, true);  // from scratch: whatever the old file holds is not trusted
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
  remove->add_flag("--no-wait", r->no_wait, "Fail at once if another xsearch is writing the library");
  remove->callback([r, &run] { run = [r] { return run_remove(*r); }; });

  auto x = std::make_shared<LibraryArgs>();
  CLI::App* reindex = app.add_subcommand("reindex", "Rebuild the vector index from the stored embeddings");
  add_db_option(reindex, x->db);
  reindex->add_flag("--json", x->json, "Print JSON");
  reindex->add_flag("--no-wait", x->no_wait, "Fail at once if another xsearch is writing the library");
  reindex->callback([x, &run] { run = [x] { return run_reindex(*x); }; });
}

}  // namespace xsearch::cli
