#!/usr/bin/env bash
# Tokenizer benchmark: microseconds per query and MB/s on a long text.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
[ -x "$build/xsearch-bench-tokenizer" ] || scripts/build.sh
exec "$build/xsearch-bench-tokenizer" "${1:-tests/fixtures/tokenizer}"
