#!/usr/bin/env bash
# Builds the Debian package (cpack -G DEB) and installs it into a fresh Debian 12 (bookworm) root made with
# mmdebstrap, where apt resolves its Depends from Debian's mirror; then, in the root, runs xsearch as a user
# would: --version, ingest of the fixture video with the tiny model, a query, and checks that the man page
# and the completions are where the shells look. Proves that the package's Depends are complete (the root
# has nothing else) and that the installed layout works.
#   scripts/check-deb.sh [BUILD_DIR]    (default: build; it is built first)
# The root's base (mmdebstrap, apt variant) is made once in build-deb/base (ignored) and copied afresh for
# every run. The root runs in private mount and PID namespaces (unshare), set up as for
# scripts/check-debian13.sh (scripts/lib/chroot.sh): its mounts never reach the host and no process
# outlives it. Needs root (or sudo); the build and cpack run as the build folder's owner, so that a
# `sudo` run leaves no root-owned files in a user's build folder. Environment: XSEARCH_DEB_DIR (default
# build-deb), XSEARCH_DEB_MIRROR, XSEARCH_DEB_SECURITY (default: the URIs of
# /etc/apt/sources.list.d/debian.sources). Prints one summary line with the times.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
self=$repo/scripts/check-deb.sh
work=${XSEARCH_DEB_DIR:-$repo/build-deb}
root=$work/root
logs=$work/logs
chroot_name=check-deb
# shellcheck source-path=SCRIPTDIR source=lib/chroot.sh
. "$repo/scripts/lib/chroot.sh"

chroot_as_root "$self" XSEARCH_DEB_DIR,XSEARCH_DEB_MIRROR,XSEARCH_DEB_SECURITY "$@"

# ---------------------------------------------------------------------------------------------------------
# Inside the private mount + PID namespace: install the package and use it.
if [ "${1:-}" = --inner ]; then
  deb=$2
  chroot_mount "$root"
  mkdir -p "$root/tmp/xsearch-check/videos"
  cp "$deb" "$root/tmp/xsearch-check/"
  cp -r tests/fixtures/xclip-tiny-full "$root/tmp/xsearch-check/model"
  cp tests/fixtures/video/visible-640x360-h264.mp4 "$root/tmp/xsearch-check/videos/"
  in_root() { chroot_run "$root" "$1" DEBIAN_FRONTEND=noninteractive; }
  start=$SECONDS
  in_root "set -e; apt-get update -qq; apt-get install -y -qq --no-install-recommends /tmp/xsearch-check/$(basename "$deb")" \
    >"$logs/apt.log" 2>&1 || { tail -30 "$logs/apt.log" >&2; echo "check-deb: apt-get install failed ($logs/apt.log)" >&2; exit 1; }
  echo "XSEARCH_DEB_APT_TIME=$((SECONDS - start))"
  start=$SECONDS
  # A user in the root, with a home of their own and no downloads.
  in_root 'set -euo pipefail
    useradd -m viewer 2>/dev/null || true
    chown -R viewer /tmp/xsearch-check
    su viewer -s /bin/bash -c "set -euo pipefail; export HF_HUB_OFFLINE=1; cd /tmp/xsearch-check
      command -v xsearch
      xsearch --version
      xsearch ingest videos --model model
      xsearch query \"a person walking\" --json > query.json
      grep -q visible-640x360-h264.mp4 query.json
      grep -q \"\\\"thumbnail\\\": *\\\"/\" query.json
      xsearch info"
    for f in /usr/share/man/man1/xsearch.1 /usr/share/bash-completion/completions/xsearch \
             /usr/share/zsh/vendor-completions/_xsearch /usr/share/fish/vendor_completions.d/xsearch.fish; do
      test -s "$f" || { echo "missing: $f"; exit 1; }
    done
    echo "installed files:"; dpkg -L xsearch | grep -v "/$"' >"$logs/use.log" 2>&1 ||
    { cat "$logs/use.log" >&2; echo "check-deb: using the installed package failed ($logs/use.log)" >&2; exit 1; }
  cat "$logs/use.log"
  echo "XSEARCH_DEB_USE_TIME=$((SECONDS - start))"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------------
build=${1:-build}
mkdir -p "$work" "$logs"
total=$SECONDS

# 1. The package, from a build whose installed files are up to date (not its tests), built by the build
# folder's owner: as root, a `sudo` run would leave root-owned objects that the user's next build cannot
# replace. runuser sets HOME to the owner's, so ccache uses the owner's cache too.
[ -d "$build" ] || { echo "check-deb: $build: no such build folder (configure it first: scripts/build.sh)" >&2; exit 1; }
owner=$(stat -c %U "$build")
as_owner() { if [ "$owner" = root ]; then "$@"; else runuser -u "$owner" -- "$@"; fi; }
start=$SECONDS
as_owner cmake --build "$build" --target xsearch xsearch-media xsearch-full xsearch_help_files >"$logs/build.log" 2>&1 || { tail -30 "$logs/build.log" >&2; echo "check-deb: build failed (as $owner)" >&2; exit 1; }
as_owner rm -f "$build"/xsearch_*.deb
(cd "$build" && as_owner cpack -G DEB) >"$logs/cpack.log" 2>&1 || { tail -30 "$logs/cpack.log" >&2; echo "check-deb: cpack failed (as $owner)" >&2; exit 1; }
deb=$(ls "$build"/xsearch_*.deb)
package_time=$((SECONDS - start))
echo "check-deb: $(basename "$deb"), Depends: $(dpkg-deb -f "$deb" Depends)"

# 2. A fresh root: a copy of the base (made once).
start=$SECONDS
if [ ! -d "$work/base" ]; then
  chroot_host_tools
  mirror=${XSEARCH_DEB_MIRROR:-$(chroot_source_uri '[ \t](bookworm|stable)([ \t]|$)')}
  mirror=${mirror:-http://deb.debian.org/debian}
  security=${XSEARCH_DEB_SECURITY:-$(chroot_source_uri '-security')}
  security=${security:-http://deb.debian.org/debian-security}
  chroot_mmdebstrap bookworm "$work/base" "$mirror" "$security" "$logs/root.log" --include=ca-certificates
fi
chroot_refuse_mounted "$root"
rm -rf --one-file-system "$root"
cp -a "$work/base" "$root"
root_time=$((SECONDS - start))

# 3. Install and use, in private namespaces.
out=$(unshare --mount --pid --fork --propagation private "$self" --inner "$(realpath "$deb")") ||
  { echo "$out"; echo "check-deb: FAILED (package ${package_time} s, root ${root_time} s)"; exit 1; }
echo "$out" | grep -v '^XSEARCH_DEB_'
apt_time=$(echo "$out" | sed -n 's/^XSEARCH_DEB_APT_TIME=//p')
use_time=$(echo "$out" | sed -n 's/^XSEARCH_DEB_USE_TIME=//p')
echo "check-deb: ok: package ${package_time} s, root ${root_time} s, apt install ${apt_time} s, ingest + query ${use_time} s; total $((SECONDS - total)) s"
