#!/usr/bin/env bash
# Installs every Debian package xsearch needs to build, test and run (idempotent: only what is missing
# is installed, and `apt-get update` runs at most once). Needs root (or sudo) when something is missing.
#   scripts/setup.sh --check   installs nothing: lists what a run would install and exits 1 when anything
#                              is missing (the README test asks it before running scripts/run.sh, which
#                              cannot install on a machine without apt access, such as the GPU machine)
set -euo pipefail
check_only=0
if [ "${1:-}" = --check ]; then check_only=1; fi
web=$(dirname "$0")/../tests/web

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-openmp
  libfaiss-dev libopenblas-dev liblapack-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev ffmpeg
  libsqlite3-dev sqlite3
  postgresql libpq-dev
  libcli11-dev libfmt-dev catch2 nlohmann-json3-dev libutf8proc-dev
  libcurl4-openssl-dev libssl-dev libzip-dev python3
  # python3-numpy, python3-faiss: the test that loads export --embeddings outside xsearch
  python3-numpy python3-faiss
  libcpp-httplib-dev chromium nodejs
  # curl: the README test asks the running page for its API (Debian 13's minimal root has no curl)
  curl
  # systemd: the test that runs the watch units under a real user manager (tests/check_systemd_units.sh)
  systemd
  # libclang-rt-dev: the sanitizer and libFuzzer runtimes of the default clang (14 on Debian 12, 19 on 13)
  clang libclang-rt-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm drives the browser test's install. Debian packages it apart from nodejs; a Node.js from elsewhere
# (NodeSource's nodejs package) carries its own npm and conflicts with Debian's, so ask only when missing.
if ! command -v npm >/dev/null; then missing+=(npm); fi

if ((check_only)); then
  if ! cmp -s "$web/package-lock.json" "$web/node_modules/.package-lock.json.installed" 2>/dev/null; then
    missing+=("tests/web/node_modules (npm ci)")
  fi
  if ((${#missing[@]})); then echo "setup: missing: ${missing[*]}" >&2; exit 1; fi
  exit 0
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# LibTorch parallelises with OpenMP: it needs OpenBLAS's OpenMP build (libopenblas0-openmp, above). The
# pthread build, which Debian's alternatives pick by default, fights LibTorch's threads, and the reference
# BLAS is about 20x slower (docs/speed.md). This script leaves the machine's alternatives as they are: every
# executable of the build looks first in the OpenMP build's folder (its RUNPATH, CMakeLists.txt:
# XSEARCH_OPENMP_BLAS_DIR), whatever the alternatives say.

# The browser test of `xsearch serve` drives chromium with puppeteer-core, pinned by tests/web/package-lock.json
# (installed again only when the lock file changed since the last install).
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.package-lock.json.installed" 2>/dev/null; then
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.package-lock.json.installed)
fi
