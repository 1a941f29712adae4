#!/usr/bin/env bash
# The link-order check against a LibTorch that exports std::filesystem (tests/needed_order/crafted_torch.cpp):
# the executable linked as before (--as-needed, nothing first) must fail the check, and its remove_all must
# bind to the crafted library's copy; the one linked with XSEARCH_RUNTIME_FIRST_LINK_OPTIONS must pass, and
# bind to libstdc++'s. Usage: check_catches_bad_link.sh CHECK-SCRIPT BAD-EXE GOOD-EXE WORK-DIR
set -uo pipefail
check=$1 bad=$2 good=$3 work=$4
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" || fail "cannot make $work"

out=$("$check" "$bad" 2>&1) && fail "the check passed the old link line: $out"
grep -q "libstdc++ is not NEEDED" <<<"$out" || fail "the check failed the old link line for another reason: $out"
echo "old link line refused: $out"
out=$("$check" "$good" 2>&1) || fail "the check refused the fixed link line: $out"

# Which copy of remove_all(const path&, error_code&) each executable really calls (the dynamic linker says).
symbol='_ZNSt10filesystem10remove_allERKNS_7__cxx114pathERSt10error_code'
bound_to() {
  LD_DEBUG=bindings LD_DEBUG_OUTPUT="$work/bindings" "$1" "$work/none" >/dev/null 2>&1
  # "binding file FROM [0] to TO [0]: normal symbol `NAME'": the executable's own reference (FROM is no .so).
  cat "$work"/bindings.* 2>/dev/null | grep "normal symbol \`$symbol'" |
    awk '{ for (i = 1; i < NF; i++) if ($i == "file") { from = $(i + 1); to = $(i + 4) } }
         from !~ /\.so/ { print to; exit }' 
  rm -f "$work"/bindings.*
}
bad_to=$(bound_to "$bad") good_to=$(bound_to "$good")
echo "old link line: remove_all binds to ${bad_to:-?}; fixed: ${good_to:-?}"
case $bad_to in *crafted*) ;; *) fail "with the old link line remove_all bound to '${bad_to}', not the crafted copy" ;; esac
case $good_to in *libstdc++*) ;; *) fail "with the fixed link line remove_all bound to '${good_to}', not libstdc++" ;; esac

# And the fixed executable's std::filesystem works: a folder of two files is three entries removed.
mkdir -p "$work/tree/sub" && touch "$work/tree/a" "$work/tree/sub/b"
removed=$("$good" "$work/tree") || fail "the fixed executable failed"
[ "$removed" = 4 ] || fail "remove_all removed '$removed' entries, expected 4 (tree, a, sub, sub/b)"
[ ! -e "$work/tree" ] || fail "the tree is still there"
echo "PASS"
