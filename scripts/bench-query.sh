#!/usr/bin/env bash
# Query latency at 10k, 100k and 1M stored clips (random vectors; a random base-patch32 checkpoint with the
# CLIP tokenizer files for the text side): warm search in-process, and a fresh `xsearch query` process.
# Libraries are built once under build/bench-libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
[ -x "$build/xsearch-bench-query" ] || scripts/build.sh
model=$build/bench-random-b32
[ -f "$model/model.safetensors" ] || "$build/xsearch-bench-model" --model "$model" --batches 1 --iters 1 >/dev/null
for f in vocab.json merges.txt tokenizer_config.json special_tokens_map.json preprocessor_config.json; do
  [ -f "$model/$f" ] || cp "tests/fixtures/xclip-tiny-full/$f" "$model/"
done
mkdir -p "$build/bench-libraries"
for n in ${@:-10000 100000 1000000}; do
  "$build/xsearch-bench-query" "$build/xsearch" "$model" "$build/bench-libraries/lib-$n.db" "$n"
done
