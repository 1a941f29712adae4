#!/usr/bin/env bash
# Mutation check (not part of CI). For each mutation in scripts/mutations.txt (or only those named as
# arguments): apply it to a scratch copy of the working tree, rebuild, run the tests meant to kill it (the
# list's fourth field, a CTest -R pattern), then, if they all pass, the rest of the tests the mutation
# reaches (stopping at the first failure); record whether some test failed (killed) or all passed
# (survived). Prints a table, the score and the time taken; exits 1 when a mutation survived, no longer
# applies or does not build.
#
#   scripts/mutation-check.sh                          # every mutation
#   scripts/mutation-check.sh min-score-inclusive      # one
#   XSEARCH_MUTATION_QUICK=1 scripts/...               # the named tests only (minutes, not hours)
#   XSEARCH_MUTATION_DIR=/work/m scripts/...           # scratch folder (default $TMPDIR/xsearch-mutation)
#   XSEARCH_MUTATION_LIST=FILE scripts/...             # another list of the same form
#   XSEARCH_MUTATION_EVERY_TEST=1 scripts/...          # the whole suite after the named tests, as before
#   XSEARCH_MUTATION_JOBS=4 scripts/...                # ninja and ctest -j (default: the number of cores)
#
# The scratch copy and its build folder are kept between runs (only what changed is rebuilt). Each mutant
# first builds only the programs its named tests run. The rest of the suite, for a mutant that passes its
# named tests, is the tests that reach what its rebuild relinked: an argument of the test's command is a
# relinked file or a folder holding one (the build folder given to a script), or the test's program holds
# a relinked file's path (xsearch_tests has the command-line programs' paths compiled in), counting
# `xsearch` as relinked when xsearch-media or xsearch-full is (it starts them). Any other test runs the
# same code as on the unmutated tree and cannot fail differently (the fixtures check, the model tests for a
# mutation outside the model). A mutation that relinks nothing (a script, a fixture) gets the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
work=$(realpath -m "${XSEARCH_MUTATION_DIR:-${TMPDIR:-/tmp}/xsearch-mutation}")
list=${XSEARCH_MUTATION_LIST:-$src/scripts/mutations.txt}
list=$(realpath "$list")
jobs=${XSEARCH_MUTATION_JOBS:-$(nproc)}
started=$SECONDS

# A scratch copy of the tree as it is now (committed or not), with its build folder kept between runs, so
# that a run rebuilds only what changed since the last one (ccache then makes most of that a few files).
build=$work/tree/build
mkdir -p "$work/tree"
find "$work/tree" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
# deps/ (1 GB of GPU bundles, ignored by git) is no input of the build or the tests. tar's status 1 (a
# file changed while it was read: others are editing) is no failure here.
{ tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./deps --exclude=./.cache -cf - . || (($? == 1)); } | tar -C "$work/tree" -xf -
# tar keeps modification times, and a file edited after the last copy but before its build ran may be
# older than what was built from the earlier text: the files whose content differs from the last copy's
# (the manifest; every file on a first run) are touched, so that they are newer than anything built. They
# stay listed (pending-touch) until a build has gone through, and so does each mutated file until the
# original is built again: a run stopped midway or a tree caught mid-edit leaves nothing stale behind.
(cd "$work/tree" && find . -path ./build -prune -o -type f -print0 | sort -z | xargs -0 md5sum) >"$work/manifest.new"
if [[ -f $work/manifest && -d $build ]]; then
  comm -13 <(sort "$work/manifest") <(sort "$work/manifest.new") | cut -c35- >>"$work/pending-touch"
else
  cut -c35- "$work/manifest.new" >>"$work/pending-touch"
fi
mv "$work/manifest.new" "$work/manifest"
while IFS= read -r f; do
  if [[ -n $f && -f $work/tree/$f ]]; then touch "$work/tree/$f"; fi
done <"$work/pending-touch"
# The build folder inside the copy, as in a clone: ccache (keyed relative to the tree) then finds what the
# working tree's own build compiled.
export CCACHE_BASEDIR=$work/tree
cmake -S "$work/tree" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DXSEARCH_BENCHMARKS=OFF >"$work/build.log" 2>&1
if ! ninja -C "$build" -j "$jobs" >>"$work/build.log" 2>&1; then
  # Nothing can be judged on a tree that does not build (a file caught mid-edit: run again).
  grep -A12 FAILED "$work/build.log" | head -40 >&2
  echo "mutation-check: the unmutated tree does not build (log: $work/build.log)" >&2
  exit 2
fi
rm -f "$work/pending-touch"

# Every test, numbered as CTest numbers them (ctest -I), with what its command names.
ctest --test-dir "$build" --show-only=json-v1 >"$work/tests.json"
# The numbers of the tests that reach a file listed in $1 (one path a line), as "0,0,0,N,M,..." for
# ctest -I; empty when none does. A test reaches a file when an argument of its command is that file or a
# folder holding it (the build folder given to a script), or when its program holds that file's path
# (xsearch_tests has the command-line programs' paths compiled in: it starts them).
reached_tests() {
  local starts=() exe r
  while IFS= read -r exe; do
    [[ -f $exe ]] || continue
    grep -qxF "$exe" "$1" && continue
    while IFS= read -r r; do
      if grep -qF "$r" "$exe"; then starts+=("$exe"); break; fi
    done <"$1"
  done < <(jq -r --arg b "$build/" '.tests[].command[0] // "" | select(startswith($b))' "$work/tests.json" | sort -u)
  jq -r --rawfile relinked "$1" --arg starts "${starts[*]:-}" '
    ($relinked | split("\n") | map(select(length > 0))) as $r
    | ($starts | split(" ") | map(select(length > 0))) as $s
    | [.tests | to_entries[]
       | select((.value.command // []) as $cmd
                | any($cmd[]; . as $arg | any($r[]; . == $arg or startswith($arg + "/")))
                  or any($s[]; . == ($cmd[0] // "")))
       | .key + 1]
    | if length == 0 then "" else "0,0,0," + (map(tostring) | join(",")) end' "$work/tests.json"
}

# The executables of the tests that $1 (a -R pattern) names, relative to the build folder, as ninja
# targets; nothing (build everything) when one of them is not a program built here (a script, node).
focus_executables() {
  ctest --test-dir "$build" --show-only=json-v1 -R "$1" |
    jq -r --arg b "$build/" '[.tests[].command[0] // ""] | unique
      | if length > 0 and all(startswith($b)) then map(ltrimstr($b))[] else empty end'
}

results=()
killed=0 survived=0 stale=0 unbuilt=0
while IFS=$'\t' read -r name file expr focus <&3; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if (($#)) && [[ " $* " != *" $name "* ]]; then continue; fi
  mutant_started=$SECONDS
  target=$work/tree/$file
  cp -p "$target" "$target.orig"
  perl -0777 -pi -e "$expr" "$target"
  if cmp -s "$target" "$target.orig"; then
    results+=("$(printf '%-34s %-40s %s' "$name" "$file" "DOES NOT APPLY")")
    stale=$((stale + 1))
    mv "$target.orig" "$target"
    continue
  fi
  echo "$file" >>"$work/pending-touch"
  verdict=survived
  # The tests that failed, counted once each (CTest names them on their progress line).
  failed() { grep -cE 'Test +#[0-9]+: .*\*\*\*(Failed|Exception|Timeout)' "$1" || true; }
  touch "$work/build-stamp"
  # First only what the named tests run (their executables and what those depend on); the rest of the
  # build only if the mutation gets that far.
  targets=()
  [[ -n "${focus:-}" ]] && targets=($(focus_executables "$focus"))
  if ! ninja -C "$build" -j "$jobs" "${targets[@]}" >"$work/$name.build.log" 2>&1; then
    verdict="DOES NOT BUILD"
  elif [[ -n "${focus:-}" ]] && ! ctest --test-dir "$build" -j "$jobs" --stop-on-failure -R "$focus" >"$work/$name.focus.log" 2>&1; then
    verdict="killed by $(failed "$work/$name.focus.log") of the tests named"
  elif [[ ${XSEARCH_MUTATION_QUICK:-0} == 1 && -n "${focus:-}" ]]; then
    verdict="survived the tests named (quick)"
  elif ! ninja -C "$build" -j "$jobs" >>"$work/$name.build.log" 2>&1; then
    verdict="DOES NOT BUILD"
  else
    # The rest of the tests: those that run a relinked file, the named ones (passed) left out.
    find "$build" -type f -newer "$work/build-stamp" \( -perm -u+x -o -name '*.so' \) ! -path '*/CMakeFiles/*' >"$work/relinked" || true
    # `xsearch` hands the media and model commands to xsearch-media and xsearch-full beside it: whatever
    # starts `xsearch` (the browser test, the tests' command lines) runs them too.
    grep -qxE "$build/xsearch-(media|full)" "$work/relinked" && ! grep -qxF "$build/xsearch" "$work/relinked" && echo "$build/xsearch" >>"$work/relinked"
    selection=()
    if [[ ${XSEARCH_MUTATION_EVERY_TEST:-0} != 1 && -s "$work/relinked" ]]; then
      numbers=$(reached_tests "$work/relinked")
      if [[ -z $numbers ]]; then
        selection=(none)
      else
        selection=(-I "$numbers")
      fi
    fi
    [[ -n "${focus:-}" ]] && exclude=(-E "$focus") || exclude=()
    if [[ ${selection[0]:-} == none ]]; then
      :  # nothing that was rebuilt is run by any test
    elif ! ctest --test-dir "$build" -j "$jobs" --stop-on-failure "${selection[@]}" "${exclude[@]}" >"$work/$name.test.log" 2>&1; then
      verdict="killed by the suite ($(failed "$work/$name.test.log") failed)"
      # A test of the rest of the suite was not written against this mutation: it may fail for a reason of
      # its own (a tool missing in the scratch copy, such as the browser test's node_modules). Run the tests
      # that failed again on the original code; if one fails there too, the kill proves nothing.
      failed_numbers=$(grep -oE 'Test +#[0-9]+: .*\*\*\*(Failed|Exception|Timeout)' "$work/$name.test.log" | sed -E 's/Test +#([0-9]+):.*/\1/' | paste -sd, -)
      cp -p "$target.orig" "$target"
      touch "$target"
      if ! ninja -C "$build" -j "$jobs" >>"$work/$name.build.log" 2>&1; then
        verdict="DOES NOT BUILD"
      elif ! ctest --test-dir "$build" -j "$jobs" -I "0,0,0,$failed_numbers" >"$work/$name.baseline.log" 2>&1; then
        verdict="INCONCLUSIVE (tests $failed_numbers fail without the mutation too: $work/$name.baseline.log)"
      fi
    fi
  fi
  # A mutant that does not compile tests nothing: every line of the list is meant to be a program a
  # careless edit could produce, so a build failure means the line needs mending (the code moved), and
  # it counts against the run like a line that no longer applies.
  case $verdict in
    survived*) survived=$((survived + 1)) ;;
    "DOES NOT BUILD" | INCONCLUSIVE*) unbuilt=$((unbuilt + 1)) ;;
    *) killed=$((killed + 1)) ;;
  esac
  results+=("$(printf '%-34s %-40s %s (%ds)' "$name" "$file" "$verdict" $((SECONDS - mutant_started)))")
  echo "mutation: $name: $verdict ($((SECONDS - mutant_started)) s)" >&2
  mv "$target.orig" "$target"
  touch "$target"  # rebuilt from the original at the next step
done 3<"$list"  # fd 3: a test that reads its standard input must not eat the list
ninja -C "$build" -j "$jobs" >/dev/null
rm -f "$work/pending-touch"

printf '%s\n' "${results[@]}"
echo "mutation score: $killed killed, $survived survived, $stale no longer apply, $unbuilt do not build or are inconclusive ($(((SECONDS - started) / 60)) min)"
((survived == 0 && stale == 0 && unbuilt == 0))
