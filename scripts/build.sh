#!/usr/bin/env bash
# Configures and builds xsearch in Release with CMake + Ninja into ./build (or $XSEARCH_BUILD_DIR).
# Extra arguments go to CMake, e.g. -DXSEARCH_MODEL_ONLY=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
# ccache keys paths relative to the clone, so a clone in another folder reuses what an earlier one compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C "$build"
