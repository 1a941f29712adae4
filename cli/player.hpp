// `query --open [N]`: play a hit in the user's video player from its best moment to the segment's end.
// mpv (--start/--end), VLC (--start-time/--stop-time, --play-and-exit), ffplay (-ss/-t, -autoexit, quiet),
// all of which quit at the end, else the desktop's opener (xdg-open, or open on macOS),
// which starts at the beginning; $XSEARCH_PLAYER names another program (called with the file, and the
// times when its name is one of those players).
#pragma once

#include <string>
#include <vector>

namespace xsearch::cli {

struct PlayerChoice {
  std::string program;  // as found: an absolute path, or $XSEARCH_PLAYER as given
  std::string kind;     // "mpv", "vlc", "ffplay", "opener" or "other"
};

// `name` in the absolute folders of `path_env` (never the current folder, which an empty or relative
// entry would mean); empty when it is in none.
std::string find_program(const std::string& name, const std::string& path_env);

// The player to use: `override` ($XSEARCH_PLAYER) when not empty, else the first of mpv, vlc, ffplay,
// xdg-open, open found in the absolute folders of `path_env`. Throws xsearch::Error when there is none.
PlayerChoice find_player(const std::string& override, const std::string& path_env);

// The command line that plays `file` from `start` to `end` seconds with `player`.
std::vector<std::string> player_command(const PlayerChoice& player, const std::string& file, double start, double end);

// Runs the command and waits for it; returns its exit status. Throws xsearch::Error when it cannot start.
int run_player(const std::vector<std::string>& command);

}  // namespace xsearch::cli
