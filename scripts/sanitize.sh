#!/usr/bin/env bash
# Builds every target with AddressSanitizer + UndefinedBehaviorSanitizer (GCC) into ./build-asan (or
# $XSEARCH_ASAN_BUILD_DIR) and runs the whole CTest suite under them; the tests that run the CLI run the
# instrumented binaries of that folder. Any sanitizer report, in a test or in a process it started, fails.
# LibTorch, FFmpeg, FAISS, OpenBLAS and the other system libraries are not instrumented.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=${XSEARCH_ASAN_BUILD_DIR:-build-asan}
# -O1, ASan's usual level: it compiles in about half the time of -O3 with instrumentation (the LibTorch
# files dominate CI's time) and still finds what -O3 would. No benchmarks: no test runs them.
# CCACHE_NOHASHDIR: the -g1 line tables would otherwise make ccache key on the folder, and a clone in
# another folder (CI's) would compile everything again.
export CCACHE_NOHASHDIR=1
# ccache keys paths relative to the clone, so a clone in another folder reuses what an earlier one compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DXSEARCH_BENCHMARKS=OFF -DXSEARCH_SANITIZE=address,undefined >/dev/null
ninja -C "$build"

# Every report also goes to a file of its own (log_path, one per process), so that a report in a child
# process (the CLI tests run xsearch, which runs xsearch-full) fails the run even where the test that
# started it only checks for a non-zero exit status.
logs=$(realpath "$build")/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# verify_asan_link_order=0: a test preloads a shim (LD_PRELOAD) in front of the ASan runtime.
export ASAN_OPTIONS="log_path=$logs/asan:verify_asan_link_order=0:${XSEARCH_ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
# The canary overflows a heap buffer on purpose: its report must land in the folder, or nothing would.
"$build/tests/sanitizer_canary" 2>/dev/null && { echo "sanitize: the canary was not stopped" >&2; exit 1; }
if ! grep -qs heap-buffer-overflow "$logs"/asan.*; then
  echo "sanitize: the canary's report did not reach $logs: this run could not catch anything" >&2
  exit 1
fi
rm -f "$logs"/*
status=0
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" || status=$?
if compgen -G "$logs/*" >/dev/null; then
  echo "sanitize: sanitizer reports:" >&2
  for f in "$logs"/*; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
exit $status
