#!/usr/bin/env bash
# Runs every command README.md shows, as a user would type it, in a sandbox: HOME is a temporary folder
# holding ~/Videos, ~/Pictures and ~/Downloads with small generated videos, `xsearch` is this build's, the
# model is the tiny fixture (XSEARCH_MODEL, so nothing is downloaded), players and xdg-open are stand-ins
# that record what they were asked to open, and the shared-library block runs against a real PostgreSQL
# server started here. Each ```sh block runs as one shell script (so `export` carries to the next line),
# every command must exit 0, and a query must print something. Commands that another test runs are listed
# in `elsewhere` with that test's name; a README command that is neither run here nor listed fails the test,
# so the README cannot show a command that nothing runs.
#
#   tests/readme_commands.sh SOURCE_DIR BUILD_DIR FIXTURES_DIR
set -euo pipefail
src=$1 build=$2 fixtures=$3
readme=$src/README.md

# Commands run by another test (a prefix of the command, then where it runs).
elsewhere=(
  "scripts/test.sh|CI (.ci/run runs it on a clean clone)"
  "scripts/run.sh|this script, only in a plain Release build folder (it reconfigures the build folder it is given)"
  "scripts/setup.sh|CI (scripts/test.sh runs it, then scripts/build.sh)"
  "sudo apt install ./xsearch|scripts/check-deb.sh (the .deb installed into a fresh Debian 12 root)"
  "sudo cmake --install|CTest install_tree (cmake --install into a temporary prefix, then run from there)"
  "cmake --install|CTest install_tree"
  "(cd build && cpack|scripts/check-deb.sh"
)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xsearch-readme.XXXXXX")
pg_stop() { :; }
# The sandbox stays when the test fails, for a look at the failing block's script and files.
# No process started in the sandbox (a server or a watch left by a failing block) outlives the test.
cleanup() {
  local s=$?
  pg_stop
  pkill -KILL -f -- "$tmp/" 2>/dev/null || true
  if ((s == 0)); then rm -rf "$tmp"; else echo "readme_commands: kept $tmp" >&2; fi
}
trap cleanup EXIT
fail() { echo "readme_commands: $*" >&2; exit 1; }

export HOME=$tmp/home
unset XDG_DATA_HOME XDG_CACHE_HOME XDG_CONFIG_HOME XSEARCH_DB XSEARCH_DEVICE XSEARCH_DTYPE
export XSEARCH_MODEL=$fixtures/xclip-tiny-full HF_HUB_OFFLINE=1 HF_HOME=$tmp/hf
mkdir -p "$HOME/Videos/Holiday 2024" "$HOME/Videos/kids" "$HOME/Videos/2024" "$HOME/Pictures" \
  "$HOME/Downloads" "$HOME/archive" "$tmp/bin" "$tmp/work"

# Small videos: long enough for the times the README names (@1:30 in beach.mp4, @0:12 in clip.mp4), tiny
# frames so that the tiny model ingests them in seconds.
make_video() {  # PATH SECONDS
  ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc=size=96x64:rate=5" -t "$2" -pix_fmt yuv420p -y "$1"
}
make_video "$HOME/Videos/beach.mp4" 100
make_video "$HOME/Videos/dinner.mp4" 12
cp "$fixtures/video/visible-640x360-h264.mp4" "$HOME/Videos/Holiday 2024/trattoria.mov"
make_video "$HOME/Videos/kids/birthday.mkv" 8
make_video "$HOME/Videos/2024/kite.mp4" 8
make_video "$HOME/Downloads/clip.mp4" 20
make_video "$HOME/archive/old.mp4" 8
ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc=size=160x120" -frames:v 1 -y "$HOME/Pictures/cat.jpg"
echo "a note beside the videos" >"$HOME/Videos/notes.txt"

# Stand-ins for players and the desktop's opener: record the arguments, check that files exist.
for p in mpv vlc ffplay xdg-open; do
  cat >"$tmp/bin/$p" <<EOF
#!/bin/sh
echo "$p \$*" >>"$tmp/opened"
for a in "\$@"; do case "\$a" in /*) [ -e "\$a" ] || { echo "$p: no such file: \$a" >&2; exit 1; } ;; esac; done
EOF
  chmod +x "$tmp/bin/$p"
done
export PATH=$build:$tmp/bin:$PATH
[ "$(command -v xsearch)" = "$build/xsearch" ] || fail "xsearch is not this build's ($build)"

# A PostgreSQL server for the shared-library block (Debian's binaries; as `postgres` when run as root).
pg_uri=
pg_start() {
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/initdb" ] || fail "PostgreSQL's server binaries are not installed (scripts/setup.sh installs them)"
  pg=$tmp/pg as=()  # global: pg_stop runs at exit
  mkdir -p "$pg"
  # As root the server runs as `postgres`, which must reach its folder through the sandbox (mktemp: 0700).
  if [ "$(id -u)" -eq 0 ]; then chmod 755 "$tmp"; chown postgres "$pg"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$pg/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$tmp/pg.log" 2>&1 ||
    fail "initdb failed: $(tail -5 "$tmp/pg.log")"
  local port=$((20000 + RANDOM % 20000))
  "${as[@]}" "$bin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -o "-k $pg -p $port -c listen_addresses=''" start \
    >>"$tmp/pg.log" 2>&1 || fail "the PostgreSQL server did not start: $(tail -5 "$pg/server.log")"
  pg_stop() { "${as[@]}" "$bin/pg_ctl" -D "$pg/data" -m immediate stop >/dev/null 2>&1 || true; }
  "${as[@]}" "$bin/createdb" -h "$pg" -p "$port" -U postgres videos
  pg_uri="postgresql://postgres@/videos?host=$pg\&port=$port"
}

# The ```sh blocks, each as a list of commands: continuation lines joined, comments and blank lines dropped.
blocks=$(awk '
  /^```sh$/ { inblock = 1; n++; next }
  /^```/ { inblock = 0; next }
  inblock { print n "\t" $0 }' "$readme")
[ -n "$blocks" ] || fail "no \`\`\`sh block in $readme"

ran=0
for n in $(cut -f1 <<<"$blocks" | sort -nu); do
  script=$tmp/work/block$n.sh
  {
    echo "set -euo pipefail"
    echo "cd '$tmp/work'"
  } >"$script"
  runnable=0
  while IFS= read -r line; do
    cmd=$(sed -E 's/[[:space:]]+#[^"'\'']*$//; s/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$line")
    [[ -z "$cmd" || "$cmd" == \#* ]] && continue
    where=
    for e in "${elsewhere[@]}"; do [[ "$cmd" == "${e%%|*}"* ]] && where=${e#*|}; done
    if [[ "$cmd" == scripts/run.sh* ]]; then
      # run.sh starts with setup.sh, which installs what is missing: where something is (a machine with no
      # apt access, such as the GPU machine's image), the block cannot run, and says why.
      if ! setup_missing=$("$src/scripts/setup.sh" --check 2>&1); then
        echo "readme_commands: not run on this machine, setup.sh would install packages first: $cmd ($setup_missing)" >&2
      elif grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt" &&
        ! grep -qE '^CMAKE_CXX_FLAGS:STRING=.*-fsanitize|^XSEARCH_SANITIZE:[A-Z]*=.' "$build/CMakeCache.txt"; then
        echo "echo '+ $cmd' >&2; (cd '$src' && XSEARCH_BUILD_DIR='$build' $cmd) | tee '$tmp/out'" >>"$script"
        echo "test -s '$tmp/out'" >>"$script"
        runnable=1
      else
        echo "readme_commands: not run in this build folder: $cmd (${where})" >&2
      fi
      continue
    fi
    if [ -n "$where" ]; then
      echo "readme_commands: run elsewhere: $cmd ($where)" >&2
      continue
    fi
    [[ "$cmd" == xsearch* || "$cmd" == export\ * || "$cmd" == source\ * ]] || fail "block $n: a command this test does not know how to run: $cmd"
    # The shared library's server and folder are this test's.
    if [[ "$cmd" == *postgresql://* ]]; then
      [ -n "$pg_uri" ] || pg_start
      cmd=$(sed -E "s#postgresql://[^ ]*#$pg_uri#" <<<"$cmd")
    fi
    cmd=${cmd//\/mnt\/archive/$HOME/archive}
    printf 'echo %q >&2\n' "+ $cmd" >>"$script"
    case "$cmd" in
      "xsearch serve"*)
        # A server runs until stopped: it must print its address, answer it, and hand it to the opener.
        # exec: $pid is the server itself, whether or not this bash execs a subshell's last command (Debian
        # 13's did not, and the TERM below reached only the subshell: the server outlived the test).
        echo "(exec $cmd) 2>'$tmp/serve.err' & pid=\$!" >>"$script"
        echo "trap 'kill -KILL \$pid 2>/dev/null || true' EXIT  # a failing line below must not leave it running" >>"$script"
        echo "for i in \$(seq 100); do grep -q 'http://' '$tmp/serve.err' && break; sleep 0.1; done" >>"$script"
        echo "url=\$(grep -o 'http://[^ ]*/' '$tmp/serve.err' | head -1); test -n \"\$url\"" >>"$script"
        echo "curl -fsS \"\${url}api/info\" >/dev/null" >>"$script"
        echo "for i in \$(seq 50); do grep -q \"xdg-open \$url\" '$tmp/opened' 2>/dev/null && break; sleep 0.1; done" >>"$script"
        echo "grep -q \"xdg-open \$url\" '$tmp/opened'; kill -TERM \$pid; wait \$pid || true" >>"$script"
        ;;
      "xsearch watch"*)
        # Runs until stopped: it must start watching and finish its catch-up pass (the summary, on stdout),
        # then stop cleanly on SIGTERM (status 0).
        echo "(exec $cmd) >'$tmp/watch.out' 2>'$tmp/watch.err' & pid=\$!" >>"$script"
        echo "trap 'kill -KILL \$pid 2>/dev/null || true' EXIT" >>"$script"
        echo "for i in \$(seq 600); do grep -q '^xsearch: watch: watching' '$tmp/watch.err' && grep -q '^indexed' '$tmp/watch.out' && break; kill -0 \$pid || break; sleep 0.1; done" >>"$script"
        echo "grep -q '^xsearch: watch: watching' '$tmp/watch.err' && grep -q '^indexed' '$tmp/watch.out' || { kill -KILL \$pid; cat '$tmp/watch.out' '$tmp/watch.err' >&2; exit 1; }" >>"$script"
        echo "kill -TERM \$pid; wait \$pid" >>"$script"
        ;;
      *"| xargs mpv"*)
        # A pipe into a player: the player must have been handed the files.
        echo ": >'$tmp/opened'; $cmd; grep -q '^mpv /' '$tmp/opened'" >>"$script" ;;
      *"|"*|*">"*)
        echo "$cmd" >>"$script" ;;
      "xsearch query"*"--open"*)
        echo ": >'$tmp/opened'; $cmd >'$tmp/out'; test -s '$tmp/out'; test -s '$tmp/opened'" >>"$script" ;;
      "xsearch query"*|"xsearch info"*)
        echo "$cmd >'$tmp/out'; test -s '$tmp/out'" >>"$script" ;;
      *)
        echo "$cmd" >>"$script" ;;
    esac
    runnable=1
  done < <(grep "^$n	" <<<"$blocks" | cut -f2- | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
  ((runnable)) || continue
  echo "readme_commands: block $n" >&2
  bash "$script" || fail "block $n failed: the command shown last (script: $script)"
  ran=$((ran + 1))
done
((ran > 0)) || fail "no README command was run"
echo "readme_commands: $ran blocks run"
