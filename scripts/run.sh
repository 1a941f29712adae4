#!/usr/bin/env bash
# The main job in one command: install what is missing, build, fetch the default model (once), index a
# folder of videos, then search it.
#   scripts/run.sh ~/Videos "eating spaghetti"
set -euo pipefail
cd "$(dirname "$0")/.."
folder=${1:?usage: scripts/run.sh FOLDER [QUERY]}
query=${2:-people dancing}
scripts/setup.sh
scripts/build.sh >/dev/null
build=${XSEARCH_BUILD_DIR:-build}
"$build/xsearch" ingest "$folder" --yes
"$build/xsearch" query "$query" -k 10
