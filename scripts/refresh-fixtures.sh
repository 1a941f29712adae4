#!/usr/bin/env bash
# Refreshes the repository's copy of the reference data (tests/fixtures) from the shared reference folder
# (default ../shared/fixtures, or the first argument) and checks it against tests/fixtures/SHA256SUMS.
#   scripts/refresh-fixtures.sh [SOURCE]           copy the listed files, then verify them; a file whose
#                                                   reference changed is reported and the script fails
#   scripts/refresh-fixtures.sh --update [SOURCE]  accept the new reference data: copy and rewrite SHA256SUMS
#   scripts/refresh-fixtures.sh --check            verify the repository's copy only (what CTest runs)
# Only the files named in SHA256SUMS are copied: the copy stays trimmed to what the tests read. To add a
# file, copy it into tests/fixtures by hand and run with --update.
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures"
mode=refresh
case "${1:-}" in
  --update) mode=update; shift ;;
  --check) mode=check; shift ;;
esac
if [ "$mode" = check ]; then
  exec sha256sum --quiet --strict -c SHA256SUMS
fi
src=${1:-../../../shared/fixtures}
[ -d "$src" ] || { echo "refresh-fixtures: $src: no such folder" >&2; exit 2; }
mapfile -t files < <(awk '{ sub(/^\*/, "", $2); print $2 }' SHA256SUMS)
for f in "${files[@]}"; do
  [ -f "$src/$f" ] || { echo "refresh-fixtures: $src/$f: missing from the reference data" >&2; exit 2; }
  mkdir -p "$(dirname "$f")"
  cp -f "$src/$f" "$f.new" && chmod u+w "$f.new" && mv -f "$f.new" "$f"
done
if [ "$mode" = update ]; then
  printf '%s\n' "${files[@]}" | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
  echo "refresh-fixtures: copied ${#files[@]} files and rewrote SHA256SUMS"
elif ! sha256sum --quiet --strict -c SHA256SUMS; then
  echo "refresh-fixtures: the reference data changed (files above); review, then run with --update" >&2
  exit 1
else
  echo "refresh-fixtures: ${#files[@]} files copied, all match SHA256SUMS"
fi
