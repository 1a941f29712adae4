#!/usr/bin/env bash
# Model benchmark on the CPU (or --device cuda): clips/s at batch 1, 4, 8, a 5-token text query's latency,
# load time, peak RSS and a plain matmul's GFLOP/s in the same run. Without --model it uses a random
# checkpoint of base-patch32's layout, written once to build/bench-random-b32.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
[ -x "$build/xsearch-bench-model" ] || scripts/build.sh
args=("$@")
case " $* " in *" --model "*) ;; *) args+=(--model "$build/bench-random-b32") ;; esac
exec "$build/xsearch-bench-model" "${args[@]}"
