#!/usr/bin/env bash
# check_systemd_units.sh BUILD_DIR FIXTURES (CTest: systemd_user_units): the installed systemd user units of
# `xsearch watch` (packaging/systemd/) run under a real systemd user manager, as a user who enabled them:
#   - `cmake --install` into a temporary prefix, which a private mount namespace shows at /usr/local, so that
#     the units' plain `ExecStart=xsearch` resolves as on a machine where xsearch is installed, and the
#     manager finds the units in /usr/local/lib/systemd/user as it would after `make install`;
#   - `systemd-analyze --user verify` accepts both units;
#   - `systemctl --user enable --now xsearch-watch.service` with a watch.list, then a video copied into the
#     listed folder is indexed; the templated `xsearch-watch@FOLDER.service` does the same for its folder;
#   - `systemctl --user stop` ends each with exit status 0 and result "success" (SIGTERM keeps what is
#     committed and is not a failure, so Restart=on-failure does not fire).
# Needs root (a mount namespace and a cgroup of its own for the manager) and systemd; skipped (77) without.
# The manager believes it runs on a systemd-booted machine through a private /run (tmpfs) holding
# /run/systemd/system, and lives in a cgroup made for this test below the caller's, so that it neither sees
# nor touches anything of the host's.
set -euo pipefail
build=$(cd "$1" && pwd) fixtures=$(cd "$2" && pwd)
skip() { echo "systemd_user_units: skipped: $*" >&2; exit 77; }
fail() { echo "systemd_user_units: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace"
[ -x /usr/lib/systemd/systemd ] || skip "systemd is not installed (/usr/lib/systemd/systemd)"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"

if [ "${XSEARCH_UNIT_TEST_INSIDE:-}" != 1 ]; then
  tmp=$(mktemp -d /tmp/xsearch-units.XXXXXX)
  # The cgroup below this shell's own (v2 unified, or v1's name=systemd hierarchy) that the manager gets.
  line=$(grep -E '^0::|^[0-9]+:name=systemd:' /proc/self/cgroup | sort | tail -1)
  case $line in
    0::*) base=/sys/fs/cgroup${line#0::} ;;
    *) base=/sys/fs/cgroup/systemd${line#*:name=systemd:} ;;
  esac
  cgroup=${base%/}/xsearch-units.$$
  mkdir "$cgroup" 2>/dev/null || { rm -rf "$tmp"; skip "cannot make a cgroup at $cgroup"; }
  cleanup() {
    # Children first (the manager's slices and services), once their processes are gone.
    for _ in 1 2 3 4 5; do
      find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$cgroup" ] || break
      sleep 0.2
    done
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  status=0
  XSEARCH_UNIT_TEST_INSIDE=1 XSEARCH_UNIT_TEST_TMP=$tmp XSEARCH_UNIT_TEST_CGROUP=$cgroup \
    unshare --mount --propagation private "$0" "$build" "$fixtures" || status=$?
  exit $status
fi

# Inside the namespace from here.
tmp=$XSEARCH_UNIT_TEST_TMP
echo $$ >"$XSEARCH_UNIT_TEST_CGROUP/cgroup.procs"
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/systemd/system
mount --bind "$prefix" /usr/local

export HOME=$tmp/home XDG_RUNTIME_DIR=$tmp/runtime HF_HUB_OFFLINE=1 PATH=/usr/local/bin:/usr/bin:/bin
unset XDG_DATA_HOME XDG_CACHE_HOME XDG_CONFIG_HOME XSEARCH_DB XSEARCH_MODEL
mkdir -p "$HOME/.config/xsearch" "$XDG_RUNTIME_DIR" "$tmp/videos" "$tmp/other videos"
chmod 700 "$XDG_RUNTIME_DIR"
video=$fixtures/video/visible-640x360-h264.mp4

for unit in xsearch-watch.service xsearch-watch@.service; do
  systemd-analyze --user verify "/usr/local/lib/systemd/user/$unit" >"$tmp/verify.log" 2>&1 ||
    { cat "$tmp/verify.log" >&2; fail "systemd-analyze verify refused $unit"; }
done

# The README's order: one ingest first (it picks the model), then the service.
cp "$video" "$tmp/videos/first.mp4"
cp "$video" "$tmp/other videos/first.mp4"
xsearch ingest "$tmp/videos" "$tmp/other videos" --model "$fixtures/xclip-tiny-full" --quiet ||
  fail "the first ingest failed"
printf '# watched by the user unit\n%s\n' "$tmp/videos" >"$HOME/.config/xsearch/watch.list"

/usr/lib/systemd/systemd --user --log-target=console --log-level=notice >"$tmp/manager.log" 2>&1 &
manager=$!
stop_manager() {
  local status=$?
  kill "$manager" 2>/dev/null && wait "$manager" 2>/dev/null
  ((status == 0)) || { echo "--- the user manager's log:" >&2; cat "$tmp/manager.log" >&2; }
  return 0
}
trap stop_manager EXIT
for _ in $(seq 100); do  # the manager's private socket; 10 s is far more than it takes (about 0.3 s)
  systemctl --user is-system-running >/dev/null 2>&1 && break
  sleep 0.1
done
systemctl --user is-system-running >/dev/null 2>&1 || fail "the user manager did not start: $(cat "$tmp/manager.log")"

videos() { xsearch info --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["videos"])'; }
# wait_for_videos N: a watch debounces and then runs an ingest pass; 120 s covers a loaded 2-core machine
# many times over (about 7 s here).
wait_for_videos() {
  for _ in $(seq 240); do
    [ "$(videos)" = "$1" ] && return 0
    sleep 0.5
  done
  fail "the library holds $(videos) videos, not $1, two minutes after the copy"
}
# check_stopped UNIT: stopped by SIGTERM, it exits 0 and systemd counts it a success.
check_stopped() {
  systemctl --user stop "$1"
  local show
  show=$(systemctl --user show "$1" -p Result -p ExecMainStatus -p ActiveState)
  grep -qx 'Result=success' <<<"$show" && grep -qx 'ExecMainStatus=0' <<<"$show" && grep -qx 'ActiveState=inactive' <<<"$show" ||
    fail "$1 did not stop cleanly: $(tr '\n' ' ' <<<"$show")"
}

[ "$(videos)" = 2 ] || fail "the first ingest stored $(videos) videos, not 2"
systemctl --user enable --now xsearch-watch.service
systemctl --user is-active --quiet xsearch-watch.service || fail "xsearch-watch.service is not active: $(systemctl --user status xsearch-watch.service --no-pager)"
cp "$video" "$tmp/videos/second.mp4"
wait_for_videos 3
check_stopped xsearch-watch.service

instance="xsearch-watch@$(systemd-escape --path "$tmp/other videos").service"
systemctl --user start "$instance"
systemctl --user is-active --quiet "$instance" || fail "$instance is not active: $(systemctl --user status "$instance" --no-pager)"
cp "$video" "$tmp/other videos/second.mp4"
wait_for_videos 4
check_stopped "$instance"
echo "systemd_user_units: both units ran under systemd $(systemctl --version | head -1 | cut -d' ' -f2) and indexed their folders"
