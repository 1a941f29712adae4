#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, as root), builds in Release and runs every
# Catch2 test through CTest. The reference data the tests read is in the repository (tests/fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build=${XSEARCH_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
