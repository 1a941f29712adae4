#!/usr/bin/env bash
# Builds xsearch and runs its whole suite on Debian 13 (trixie: GCC 14, FFmpeg 7.1, FAISS 1.11, LibTorch 2.6,
# Catch2 3, PostgreSQL 17, cpp-httplib 0.18, fmt 10, CLI11 2.4) from a Debian 12 machine, in a chroot:
#   1. root:     a trixie root file system made with mmdebstrap in build-debian13/root (made once, then reused);
#   2. packages: a copy of this working tree goes to /xsearch in the root, where scripts/setup.sh installs
#                the packages (the one list of them) and the browser test's node_modules;
#   3. build:    scripts/build.sh with XSEARCH_BUILD_DIR=build-trixie (ccache in the root's /root/.cache);
#   4. tests:    ctest over the whole suite, as scripts/test.sh runs it.
# Everything lives in build-debian13/ (ignored); logs are in build-debian13/logs. The chroot runs in its own
# mount and PID namespaces (unshare), so its mounts never reach the host and no process outlives it; the
# mounts are also undone by a trap. Needs root (or sudo). Prints one summary line; exits non-zero on any
# failure. `scripts/check-debian13.sh --run 'COMMAND'` runs only COMMAND in the root's copy (after making the
# root when missing), e.g. --run 'ninja -C build-trixie -k 0'. Environment: XSEARCH_DEBIAN13_DIR (default
# build-debian13), XSEARCH_DEBIAN13_MIRROR and XSEARCH_DEBIAN13_SECURITY (default: the URIs of
# /etc/apt/sources.list.d/debian.sources).
# Measured (2 cores shared with other builds): a first run took root 73 s, packages 509 s, build 2167 s
# (1370 CPU s), tests 272 s; a second run packages 2 s, build 0 s, tests 250 s.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
self=$repo/scripts/check-debian13.sh
work=${XSEARCH_DEBIAN13_DIR:-$repo/build-debian13}
root=$work/root
logs=$work/logs
build_dir=build-trixie   # inside the copy (/xsearch), never the host's ./build
chroot_name=debian13
# shellcheck source-path=SCRIPTDIR source=lib/chroot.sh
. "$repo/scripts/lib/chroot.sh"

chroot_as_root "$self" XSEARCH_DEBIAN13_DIR,XSEARCH_DEBIAN13_MIRROR,XSEARCH_DEBIAN13_SECURITY "$@"

# ---------------------------------------------------------------------------------------------------------
# Inside the private mount + PID namespace (the outer part below starts this with `unshare`).
if [ "${1:-}" = --inner ]; then
  # proc, sys, dev, /dev/shm, resolv.conf, the extra certificate authorities (npm ci needs a proxy's), the
  # proxies: scripts/lib/chroot.sh. The tree itself is read-only in the root.
  chroot_mount "$root"
  mkdir -p "$root/mnt/xsearch-src"
  chroot_mnt --bind -o ro "$repo" "$root/mnt/xsearch-src"
  mount -o remount,bind,ro "$root/mnt/xsearch-src"

  in_root() {
    chroot_run "$root" "$1" TERM="${TERM:-dumb}" NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  }
  # CPU seconds (user + system) of this shell's finished children: a phase's CPU time tells what its wall
  # time would be on an idle machine, where the wall time alone depends on who else shares the cores.
  # This shell is PID 1 of its PID namespace, whose /proc is the root's.
  cpu_seconds() { awk '{ printf "%d", ($16 + $17) / 100 }' "$root/proc/$$/stat"; }
  times="root ${XSEARCH_DEBIAN13_ROOT_TIME:-?} s (CPU ${XSEARCH_DEBIAN13_ROOT_CPU:-?} s)"
  phase() {  # phase NAME COMMAND: runs COMMAND in the root, its output to the console and logs/NAME.log
    local name=$1 start=$SECONDS cpu rc=0
    cpu=$(cpu_seconds)
    echo "debian13: == $name" >&2
    in_root "$2" 2>&1 | tee "$logs/$name.log" || rc=$?
    times+=", $name $((SECONDS - start)) s (CPU $(($(cpu_seconds) - cpu)) s)"
    return "$rc"
  }
  summary() { echo "debian13: $times; $1"; }

  # The tree as the working tree is now (edits and untracked files included), without build folders, git
  # data or node_modules (the root keeps its own, installed by setup.sh). rsync writes only the files whose
  # content changed (--checksum), stamped with the time of the copy (no -t): Ninja rebuilds exactly those.
  # Copied with their own times, a file put back with an older time than its object was not rebuilt.
  copy='rsync -rlpD --checksum --delete --exclude=/.git --exclude="/build*/" --exclude=/.cache/ --exclude=/deps/ \
          --exclude=node_modules/ /mnt/xsearch-src/ /xsearch/'
  # --run 'COMMAND': only COMMAND, in /xsearch after a fresh copy of the tree (for a look at one failure).
  if [ "${2:-}" = --run ]; then
    in_root "set -e; update-ca-certificates >/dev/null; $copy; cd /xsearch; ${3:-bash -i}"
    exit
  fi
  phase packages "set -euo pipefail; update-ca-certificates >/dev/null; $copy; cd /xsearch && scripts/setup.sh" || { summary "(packages failed)"; exit 1; }
  phase build "set -euo pipefail; cd /xsearch && XSEARCH_BUILD_DIR=$build_dir nice -n 10 scripts/build.sh" ||
    { summary "(build failed: $logs/build.log)"; exit 1; }
  rc=0
  phase tests "cd /xsearch && nice -n 10 ctest --test-dir $build_dir --output-on-failure -j \$(nproc)" || rc=$?
  counts=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$logs/tests.log" | tail -1 || true)
  skipped=$(sed -n '/The following tests did not run:/,/^$/p' "$logs/tests.log" | grep -c 'Skipped' || true)
  failed=$(sed -n '/The following tests FAILED:/,/^$/p' "$logs/tests.log" | grep -E '^\s+[0-9]+ - ' || true)
  summary "tests: ${counts:-no result} (${skipped} skipped)"
  if [ -n "$failed" ]; then echo "debian13: failed tests:"; echo "$failed"; fi
  [ "$rc" -eq 0 ] && [ -n "$counts" ] || exit 1
  exit 0
fi

# ---------------------------------------------------------------------------------------------------------
# Outside: make (or reuse) the root, then run the rest in private namespaces.
mkdir -p "$work" "$logs"
start=$SECONDS
if [ ! -e "$work/root.done" ]; then
  chroot_host_tools
  mirror=${XSEARCH_DEBIAN13_MIRROR:-$(chroot_source_uri '[ \t](bookworm|trixie|stable)([ \t]|$)')}
  mirror=${mirror:-http://deb.debian.org/debian}
  security=${XSEARCH_DEBIAN13_SECURITY:-$(chroot_source_uri '-security')}
  security=${security:-http://deb.debian.org/debian-security}
  # A half-made root from an interrupted run: remove it, never crossing into a mounted file system.
  chroot_refuse_mounted "$root"
  rm -rf --one-file-system "$root"
  echo "debian13: == root (mmdebstrap trixie from $mirror)" >&2
  # policy-rc.d: installing postgresql must not start a server in the root (the tests start their own).
  chroot_mmdebstrap trixie "$root" "$mirror" "$security" "$logs/root.log" --include=ca-certificates,rsync \
    --customize-hook='printf "#!/bin/sh\nexit 101\n" > "$1/usr/sbin/policy-rc.d"; chmod 755 "$1/usr/sbin/policy-rc.d"'
  touch "$work/root.done"
fi
export XSEARCH_DEBIAN13_ROOT_TIME=$((SECONDS - start))
XSEARCH_DEBIAN13_ROOT_CPU=$(awk '{ printf "%d", ($16 + $17) / 100 }' "/proc/$$/stat")
export XSEARCH_DEBIAN13_ROOT_CPU
export XSEARCH_DEBIAN13_DIR=$work
chroot_namespaces "$self" --inner "$@"
