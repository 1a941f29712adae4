// `xsearch thumbnails [CLIP_ID...] [--all]`: make (or find) clips' thumbnails in the media cache and print
// where they are. Needs FFmpeg: the light `xsearch` hands it to `xsearch-media`.
#include <fmt/core.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "cli/child_process.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/full_exec.hpp"
#include "cli/status_line.hpp"
#include "cli/thumbnails.hpp"
#ifdef XSEARCH_MEDIA
#include "media/thumbnail.hpp"
#endif
#include "xsearch/media_cache.hpp"

namespace xsearch::cli {

namespace {

struct ThumbArgs {
  std::string db;
  std::vector<int64_t> ids;
  bool all = false, json = false, quiet = false;
};

#ifdef XSEARCH_MEDIA
// Makes what is missing among `clips`, one decoding pass per video; `done(clip, error)` for each clip.
void make_thumbnails(const Library& library, const std::vector<ClipRow>& clips,
                     const std::function<void(const ClipRow&, const std::string& error)>& done) {
  std::map<int64_t, std::vector<ClipRow>> by_video;
  for (const auto& c : clips) by_video[c.video_id].push_back(c);
  for (const auto& [video, list] : by_video) {
    std::string error;
    try {
      media::clip_thumbnails(library, list);
    } catch (const Error& e) {
      error = e.what();
    }
    for (const auto& c : list) done(c, error);
  }
}
#endif

int run_thumbnails(const ThumbArgs& a) {
#ifndef XSEARCH_MEDIA
  (void)a;
  exec_media();
#else
  const Library library = Library::open(resolve_db(a.db), false);
  std::vector<ClipRow> clips;
  int status = 0;
  if (a.all) {
    for (const auto& v : library.videos())
      for (auto& c : library.clips_of_video(v.id)) clips.push_back(std::move(c));
  } else {
    clips = library.clips_by_id(a.ids);
    for (int64_t id : a.ids)
      if (std::none_of(clips.begin(), clips.end(), [&](const ClipRow& c) { return c.id == id; })) {
        fmt::print(stderr, "xsearch: clip {}: not in the library\n", id);
        status = 2;
      }
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  // --all over a large library takes minutes: a count on a terminal (not with --quiet or --json).
  StatusLine progress(stderr_is_terminal() && !a.quiet && !a.json && clips.size() > 1);
  std::size_t done = 0;
  make_thumbnails(library, clips, [&](const ClipRow& c, const std::string& error) {
    const std::string file = std::filesystem::absolute(thumbnail_path(library.path(), c.video_id, c.id)).string();
    progress.clear();
    if (!error.empty()) {
      if (!a.quiet) fmt::print(stderr, "xsearch: {}\n", error);
      status = 2;
    }
    if (a.json) list.push_back({{"clip_id", c.id}, {"path", c.path}, {"thumbnail", error.empty() ? nlohmann::ordered_json(file) : nullptr}});
    else if (error.empty()) write_stdout(fmt::format("{}\t{}\n", c.id, file));
    progress.show(fmt::format("thumbnails: {}/{} clips", ++done, clips.size()));
  });
  progress.clear();
  if (a.json) write_json({{"thumbnails", list}});
  return status;
#endif
}

}  // namespace

std::vector<std::string> hit_thumbnails(const std::filesystem::path& db, const std::vector<QueryHit>& hits, bool make) {
  std::vector<std::string> files;
  std::vector<int64_t> missing;
  if (hits.empty()) return files;
  // The library says where its media cache is (beside a database file, or a shared library's local cache).
  const std::filesystem::path base = Library::open(db, false).media_base();
  for (const auto& h : hits) {
    // The best clip's: what the hit is about (the segment may start a few windows earlier).
    const int64_t clip = h.peak_clip_id > 0 ? h.peak_clip_id : h.clip_ids.empty() ? 0 : h.clip_ids.front();
    files.push_back(clip == 0 ? "" : std::filesystem::absolute(thumbnail_path(base, h.video_id, clip)).string());
    std::error_code ec;
    if (!files.back().empty() && !std::filesystem::exists(files.back(), ec)) missing.push_back(clip);
  }
  if (make && !missing.empty()) {
#ifdef XSEARCH_MEDIA
    const Library library = Library::open(db, false);
    make_thumbnails(library, library.clips_by_id(missing), [](const ClipRow&, const std::string& error) {
      if (!error.empty()) fmt::print(stderr, "xsearch: warning: no thumbnail: {}\n", error);
    });
#else
    // xsearch-media thumbnails ID... with the library in $XSEARCH_DB (not on its command line, which every
    // local user can read: a server's URI may hold a password): stdout goes nowhere, warnings to our stderr.
    std::vector<std::string> args = {helper_path("xsearch-media").string(), "thumbnails"};
    for (int64_t id : missing) args.push_back(std::to_string(id));
    try {
      const pid_t pid = spawn_with_library(args, db.string());
      int raw = 0;
      while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
      }
    } catch (const Error& e) {
      fmt::print(stderr, "xsearch: warning: no thumbnails: {}\n", e.what());
    }
#endif
  }
  for (auto& f : files) {
    std::error_code ec;
    if (!f.empty() && !std::filesystem::exists(f, ec)) f.clear();
  }
  return files;
}

void add_thumbnails_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ThumbArgs>();
  CLI::App* cmd = app.add_subcommand("thumbnails", "Make clips' thumbnails (cached beside the library) and print their files");
  cmd->add_option("clip", a->ids, "Clip ids (as query --json gives them)");
  add_db_option(cmd, a->db);
  cmd->add_flag("--all", a->all, "Every clip of the library");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->add_flag("--quiet", a->quiet, "No messages for clips whose thumbnail cannot be made (the exit status still says 2)");
  cmd->callback([a, &run] {
    if (a->ids.empty() && !a->all) throw CLI::ValidationError("thumbnails", "give clip ids or --all");
    run = [a] { return run_thumbnails(*a); };
  });
}

}  // namespace xsearch::cli
