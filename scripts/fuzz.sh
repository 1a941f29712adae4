#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan + libFuzzer; LibTorch not needed) into
# ./build-fuzz (or $XSEARCH_FUZZ_BUILD_DIR) and runs each for a bounded time, starting from its seed corpus
# tests/fuzz/corpus/<target>. Exits non-zero when any target crashes, leaks, times out or reports.
#
#   scripts/fuzz.sh                      # every target, $XSEARCH_FUZZ_SECONDS (default 30) seconds each
#   scripts/fuzz.sh 3600 video           # a longer campaign on one target
#   XSEARCH_FUZZ_JOBS=2 scripts/fuzz.sh 600    # two fuzzing processes per target (libFuzzer -fork)
#   XSEARCH_FUZZ_PARALLEL=1 scripts/fuzz.sh    # one target at a time (default: one per core)
#
# New inputs that reach new code go to build-fuzz/corpus/<target> (kept between runs); a crashing input is
# saved as build-fuzz/artifacts/<target>/crash-* (or leak-*, timeout-*, oom-*). To keep it as a regression
# test: copy it into tests/fuzz/corpus/<target>/ (the suite replays every corpus file), fix the bug, and
# add a test that names the behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=${XSEARCH_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${1:-${XSEARCH_FUZZ_SECONDS:-30}}
shift || true
jobs=${XSEARCH_FUZZ_JOBS:-1}
# ccache keys paths relative to the clone, so a clone in another folder reuses what an earlier one compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ -DXSEARCH_FUZZ=ON >/dev/null
ninja -C "$build"

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/corpus/*/; do targets+=("$(basename "$f")"); done
fi

# The fuzzers' own sanitizer settings: any report is a crash (libFuzzer saves the input). Leak detection
# stays on: a leak on bad input (an FFmpeg context not freed on an error path) grows a long ingest.
export ASAN_OPTIONS="${XSEARCH_ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# One target: fuzz it, then write its one-line summary (and, on failure, the report) to files of its own,
# so that targets can run side by side.
run_target() {
  local t=$1 exe=$build/tests/fuzz/fuzz_$1 log=$build/fuzz-$1.log status=0
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  local args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
              -artifact_prefix="$build/artifacts/$t/")
  if ((jobs > 1)); then args+=(-fork="$jobs" -ignore_crashes=0); fi
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  "$exe" "${args[@]}" "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  local runs rate cov
  runs=$(grep -oP 'stat::number_of_executed_units:\s*\K\d+' "$log" | tail -1 || true)
  rate=$(grep -oP 'stat::average_exec_per_sec:\s*\K\d+' "$log" | tail -1 || true)
  cov=$(grep -oP '\bcov: \K\d+' "$log" | tail -1 || true)
  printf '%-20s %9s runs in %ss  %6s exec/s  cov %5s  %s\n' "$t" "${runs:-?}" "$seconds" "${rate:-?}" "${cov:-?}" \
    "$( ((status == 0)) && echo ok || echo FAILED)" >"$build/fuzz-$t.summary"
  if ((status != 0)); then
    {
      echo "fuzz: $t failed (exit $status); the report:"
      grep -A60 -m1 -E '==[0-9]+==ERROR|runtime error|deadly signal|uncaught exception|Test unit written' "$log" || tail -60 "$log"
      ls -l "$build/artifacts/$t"
    } >"$build/fuzz-$t.failure"
  fi
}

# Targets run side by side, one per core (XSEARCH_FUZZ_PARALLEL), each for the whole time given.
parallel=${XSEARCH_FUZZ_PARALLEL:-$(nproc)}
for t in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/fuzz_$t" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  rm -f "$build/fuzz-$t.summary" "$build/fuzz-$t.failure"
done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $parallel at a time" >&2
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
  run_target "$t" &
done
wait
failed=()
for t in "${targets[@]}"; do
  cat "$build/fuzz-$t.summary" >&2
  if [ -f "$build/fuzz-$t.failure" ]; then failed+=("$t"); fi
done
for t in "${failed[@]}"; do cat "$build/fuzz-$t.failure" >&2; done
if ((${#failed[@]})); then
  echo "fuzz: failing targets: ${failed[*]}" >&2
  exit 1
fi
