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
# Exit status 3: the ingest completed but some files failed, are partial, or a root was offline (it said
# which); the library still answers queries. Anything else non-zero stops here.
status=0
"$build/xsearch" ingest "$folder" --yes || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then exit "$status"; fi
"$build/xsearch" query "$query" -k 10
