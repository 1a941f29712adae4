#!/usr/bin/env bash
# Mutation check (not part of CI: about an hour on 2 cores). For each mutation in scripts/mutations.txt
# (or only those named as arguments): apply it to a scratch copy of the working tree, rebuild, run the whole
# CTest suite, and record whether some test failed (killed) or all passed (survived). Prints a table and the
# score; exits 1 when a mutation survived or no longer applies.
#
#   scripts/mutation-check.sh                          # every mutation
#   scripts/mutation-check.sh min-score-inclusive      # one
#   XSEARCH_MUTATION_TESTS='-R index' scripts/...      # extra ctest arguments (a subset, for a quick look)
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
build=$work/build
cmake -S "$work/tree" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$build" >/dev/null

results=()
killed=0 survived=0 stale=0
while IFS=$'\t' read -r name file expr; do
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
  if ! ninja -C "$build" >"$work/$name.build.log" 2>&1; then
    verdict="killed (build)"
  elif ! ctest --test-dir "$build" -j "$(nproc)" ${XSEARCH_MUTATION_TESTS:-} >"$work/$name.test.log" 2>&1; then
    verdict="killed by $(grep -cE '\*\*\*Failed|\(Failed\)|\*\*\*Exception|\*\*\*Timeout' "$work/$name.test.log") tests"
  fi
  [[ $verdict == survived ]] && survived=$((survived + 1)) || killed=$((killed + 1))
  results+=("$(printf '%-34s %-40s %s' "$name" "$file" "$verdict")")
  echo "mutation: $name: $verdict" >&2
  mv "$target.orig" "$target"
  touch "$target"  # rebuilt from the original at the next step
done <"$list"
ninja -C "$build" >/dev/null

printf '%s\n' "${results[@]}"
echo "mutation score: $killed killed, $survived survived, $stale no longer apply"
((survived == 0 && stale == 0))
