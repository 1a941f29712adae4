#!/usr/bin/env bash
# Mutation check (not part of CI). For each mutation in scripts/mutations.txt (or only those named as
# arguments): apply it to a scratch copy of the working tree, rebuild, run the tests meant to kill it (the
# list's fourth field, a CTest -R pattern), then, if they all pass, the whole suite (stopping at the first
# failure); record whether some test failed (killed) or all passed (survived). Prints a table and the
# score; exits 1 when a mutation survived or no longer applies.
#
#   scripts/mutation-check.sh                          # every mutation
#   scripts/mutation-check.sh min-score-inclusive      # one
#   XSEARCH_MUTATION_QUICK=1 scripts/...               # the named tests only (minutes, not hours)
#   XSEARCH_MUTATION_DIR=/work/m scripts/...           # scratch folder (default $TMPDIR/xsearch-mutation)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
work=${XSEARCH_MUTATION_DIR:-${TMPDIR:-/tmp}/xsearch-mutation}
list=$src/scripts/mutations.txt

# A scratch copy of the tree as it is now (committed or not), with its own build folder kept between runs
# (ccache makes each rebuild a few files).
# tar keeps modification times, so unchanged files are not rebuilt.
rm -rf "$work/tree"
mkdir -p "$work/tree"
tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$work/tree" -xf -
# The build folder inside the copy, as in a clone: ccache (keyed relative to the tree) then finds what the
# working tree's own build compiled.
build=$work/tree/build
export CCACHE_BASEDIR=$work/tree
cmake -S "$work/tree" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DXSEARCH_BENCHMARKS=OFF >/dev/null
ninja -C "$build" >/dev/null

results=()
killed=0 survived=0 stale=0
while IFS=$'\t' read -r name file expr focus; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if (($#)) && [[ " $* " != *" $name "* ]]; then continue; fi
  target=$work/tree/$file
  cp "$target" "$target.orig"
  perl -0777 -pi -e "$expr" "$target"
  if cmp -s "$target" "$target.orig"; then
    results+=("$(printf '%-34s %-40s %s' "$name" "$file" "DOES NOT APPLY")")
    stale=$((stale + 1))
    mv "$target.orig" "$target"
    continue
  fi
  verdict=survived
  # The tests that failed, counted once each (CTest names them on their progress line).
  failed() { grep -cE 'Test +#[0-9]+: .*\*\*\*(Failed|Exception|Timeout)' "$1" || true; }
  if ! ninja -C "$build" >"$work/$name.build.log" 2>&1; then
    verdict="killed (build)"
  elif [[ -n "${focus:-}" ]] && ! ctest --test-dir "$build" -j "$(nproc)" -R "$focus" >"$work/$name.focus.log" 2>&1; then
    verdict="killed by $(failed "$work/$name.focus.log") of the tests named"
  elif [[ ${XSEARCH_MUTATION_QUICK:-0} == 1 && -n "${focus:-}" ]]; then
    verdict="survived the tests named (quick)"
  elif ! ctest --test-dir "$build" -j "$(nproc)" --stop-on-failure >"$work/$name.test.log" 2>&1; then
    verdict="killed by the suite ($(failed "$work/$name.test.log") failed)"
  fi
  [[ $verdict == survived* ]] && survived=$((survived + 1)) || killed=$((killed + 1))
  results+=("$(printf '%-34s %-40s %s' "$name" "$file" "$verdict")")
  echo "mutation: $name: $verdict" >&2
  mv "$target.orig" "$target"
  touch "$target"  # rebuilt from the original at the next step
done <"$list"
ninja -C "$build" >/dev/null

printf '%s\n' "${results[@]}"
echo "mutation score: $killed killed, $survived survived, $stale no longer apply"
((survived == 0 && stale == 0))
