#!/usr/bin/env bash
# On a GPU machine that has PyTorch (a CUDA LibTorch) but none of FFmpeg, FAISS or SQLite: builds the model
# library, its tests and its benchmark alone (XSEARCH_MODEL_ONLY), runs the model tests on CUDA (float32,
# TF32 off) and the benchmark in float32 and float16. Header-only dependencies (nlohmann/json, Catch2) come
# from deps/include when the machine has no packages for them: `scripts/gpu-check.sh --prepare` fills it
# from this machine's Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--prepare" ]; then
  mkdir -p deps/include/nlohmann deps/include/catch2
  cp /usr/include/nlohmann/json.hpp deps/include/nlohmann/
  cp /usr/include/catch2/catch.hpp deps/include/catch2/
  exit 0
fi
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
build=${XSEARCH_BUILD_DIR:-build-gpu}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DXSEARCH_MODEL_ONLY=ON -DCMAKE_PREFIX_PATH="$prefix" \
  -DXSEARCH_EXTRA_INCLUDE="$PWD/deps/include" -DXSEARCH_FIXTURES="${XSEARCH_FIXTURES:-$PWD/tests/fixtures}" \
  $(command -v ninja >/dev/null && echo -G Ninja) >/dev/null
cmake --build "$build" -j "$(nproc)"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
echo "== model tests on CUDA (float32, TF32 off)"
XSEARCH_TEST_DEVICE=cuda "$build/tests/xsearch_model_tests" "[model]" "~[slow]"
echo "== benchmark, float32 then float16"
"$build/xsearch-bench-model" --model "$build/bench-random-b32" --device cuda --dtype float32 --batches 1,8,32 --iters 5
"$build/xsearch-bench-model" --model "$build/bench-random-b32" --device cuda --dtype float16 --batches 1,8,32 --iters 5
