#!/usr/bin/env bash
# The GPU machine check (docs: /work/shared/docs/gpu-machine.md). That machine has PyTorch (a CUDA LibTorch),
# Catch2 v3, nlohmann-json, CMake, Ninja and GCC 13, but none of FFmpeg, FAISS, SQLite, libpq, CLI11, fmt,
# cpp-httplib, utf8proc, libcurl, libzip (nor the ffmpeg, sqlite3 and PostgreSQL server programs the tests
# run), no network, and it receives only a copy of the working tree plus up to 8 carried ignored paths,
# 64 MiB in all. Three modes:
#
#   --prepare     (on a Debian 12 machine with apt access; no GPU needed) makes deps/gpu-bundle.tar.xz, one
#                 file of about 22 MB: Debian 12 packages (apt-get download + dpkg -x) for SQLite (+ the
#                 sqlite3 program), CLI11, fmt, cpp-httplib, utf8proc, OpenSSL, libzip, FAISS (static) and
#                 OpenBLAS (OpenMP), and three libraries built here from Debian 12's own source packages with
#                 only what the tests and xsearch use, because the binary packages drag in hundreds of MB of
#                 dependencies (ICU, codec2, librsvg, GnuTLS, LDAP, Kerberos ...):
#                   FFmpeg 5.1 (ffmpeg, ffprobe and the libraries: the decoders, encoders, formats and filters
#                     the tests' ffmpeg command lines and xsearch need, with libx264/x265/vpx/aom/mp3lame),
#                   PostgreSQL 15 (initdb, pg_ctl, postgres, libpq; no ICU, LDAP, SSL),
#                   libcurl 7.88 (HTTP(S) with OpenSSL and zlib only).
#                 Work files stay in deps/gpu-work (ignored; delete it to refresh the downloads and builds).
#                 Prints the sizes and the exact `run` call (command and carry list) for the GPU machine.
#   --full        (on the GPU machine, or here to rehearse) unpacks the bundle into deps/gpu-prefix (never
#                 over /), builds everything against the machine's PyTorch LibTorch (else the system's
#                 LibTorch), the bundle's libraries found first (every executable gets an RPATH to them),
#                 runs the whole CTest suite in parallel (XSEARCH_TEST_DEVICE=cuda when CUDA is there), then
#                 ingests generated videos with the tiny fixture model and a random base-patch32 checkpoint on
#                 CUDA and on the CPU and compares: stored embeddings (float32 within 1e-4, float16 cosine
#                 >= 0.9999), `classify` probabilities (within 1e-4), and that `query` answers the same. Prints
#                 PASS/FAIL/SKIP per check with the numbers and the time of each phase; exits non-zero on any
#                 failure. With $OUT set (the device runner's output folder) the log, the CTest log and the
#                 numbers are also written there. Without CUDA both sides of each comparison run on the CPU.
#                 `--full --hide-host` (root; for a rehearsal on a Debian 12 machine) first hides, in a
#                 private mount namespace, the machine's own copies of what the bundle brings (headers, .pc
#                 files, CMake packages, link-time libraries, FFmpeg's and the codecs' runtime libraries,
#                 ffmpeg/ffprobe/sqlite3/pkg-config, the PostgreSQL server, node, tzdata), so that the build
#                 and the tests can only succeed with the bundle.
#   --model-only  (on the GPU machine) the quick check: only the model library, its tests and its benchmark
#                 (XSEARCH_MODEL_ONLY) against PyTorch's LibTorch, the model tests on CUDA, the benchmark in
#                 float32 and float16. Needs no bundle (the machine's own Catch2 v3 and nlohmann-json).
#
# Environment: XSEARCH_BUILD_DIR (default build-gpucheck, or build-gpu for --model-only),
# XSEARCH_GPUCHECK_CTEST_ARGS (extra ctest arguments, e.g. "-E slow_name"), XSEARCH_FIXTURES.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# The pieces: scripts/gpu/common.sh (what the bundle holds, small helpers), scripts/gpu/prepare.sh
# (--prepare), scripts/gpu/full.sh (--full); --model-only is below.
. scripts/gpu/common.sh

# ---------------------------------------------------------------------------------------------------------
# --model-only
# ---------------------------------------------------------------------------------------------------------
model_only() {
  local t0 torch build=${XSEARCH_BUILD_DIR:-build-gpu}
  t0=$(now)
  torch=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  phase "configure + build (model only)"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DXSEARCH_MODEL_ONLY=ON -DCMAKE_PREFIX_PATH="$torch" \
    -DXSEARCH_FIXTURES="${XSEARCH_FIXTURES:-$PWD/tests/fixtures}" $(command -v ninja >/dev/null && echo -G Ninja) >/dev/null
  cmake --build "$build" -j "$(nproc)"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
  phase "model tests on CUDA (float32, TF32 off)"
  local status=0
  XSEARCH_TEST_DEVICE=cuda "$build/tests/xsearch_model_tests" "[model]" "~[slow]" || status=$?
  phase "benchmark, float32 then float16"
  "$build/xsearch-bench-model" --model "$build/bench-random-b32" --device cuda --dtype float32 --batches 1,8,32 --iters 5 || status=$?
  "$build/xsearch-bench-model" --model "$build/bench-random-b32" --device cuda --dtype float16 --batches 1,8,32 --iters 5 || status=$?
  phase
  printf '  %s\n' "${phases[@]}"
  echo "  total: $(since "$t0") s"
  exit "$status"
}

case "${1:-}" in
  --prepare) . scripts/gpu/prepare.sh; prepare ;;
  --full) . scripts/gpu/full.sh; full "$@" ;;
  --model-only) model_only ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
