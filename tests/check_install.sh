#!/usr/bin/env bash
# check_install.sh BUILD_DIR FIXTURES BINDIR LIBEXECDIR MANDIR DATADIR [BLAS_DIR] (CTest: install_tree): installs the
# build with `cmake --install` into a temporary prefix, then uses the installed copy as a user would, with
# nothing of the build tree on its paths: --version, ingest of the fixture video with the tiny model, a
# query (its thumbnails come from the installed xsearch-media), the man page, and the shell completions,
# which must name every command that --help lists (at every level) and complete in bash. The installed
# executables must find every library without the build tree (no RUNPATH into it, nothing "not found").
set -euo pipefail
build=$(cd "$1" && pwd) fixtures=$2 bindir=$3 libexecdir=$4 mandir=$5 datadir=$6 blas_dir=${7:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_tree: $*" >&2; exit 1; }

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
xs=$prefix/$bindir/xsearch
for f in "$xs" "$prefix/$libexecdir/xsearch/xsearch-media" "$prefix/$libexecdir/xsearch/xsearch-full"; do
  [ -x "$f" ] || fail "$f: not installed"
  ! ldd "$f" | grep 'not found' || fail "$f: a library is not found"
  ! readelf -d "$f" | grep -E 'R(UN)?PATH' | grep -F "$build" || fail "$f: its RUNPATH names the build folder"
done
# No RUNPATH, in the build tree or installed, holds an empty entry: the loader reads one as the current
# folder, where anyone may have put a libstdc++.so.6 (CMake pads a build RUNPATH it rewrites with ':').
for f in "$build/xsearch" "$build/xsearch-media" "$build/xsearch-full" "$xs" "$prefix/$libexecdir/xsearch/xsearch-full"; do
  runpath=$(readelf -d "$f" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]$/\2/p')
  ! grep -qE '^:|::|:$|^$' <<<"${runpath:-x}" || fail "$f: an empty RUNPATH entry (the current folder): [$runpath]"
done
# The OpenMP OpenBLAS wins over the machine's alternatives (CMakeLists.txt: XSEARCH_OPENMP_BLAS_DIR, passed
# by CTest as the configure step found it).
if [ -n "$blas_dir" ]; then
  grep -q "libblas.so.3 => $blas_dir/" <<<"$(ldd "$prefix/$libexecdir/xsearch/xsearch-full")" ||
    fail "xsearch-full does not load libblas.so.3 from $blas_dir: $(ldd "$prefix/$libexecdir/xsearch/xsearch-full" | grep blas)"
fi

# A user's environment: a fresh home, no downloads, no build folder on PATH.
export HOME=$tmp/home XDG_DATA_HOME=$tmp/home/data XDG_CACHE_HOME=$tmp/home/cache HF_HUB_OFFLINE=1
export PATH=/usr/local/bin:/usr/bin:/bin
unset XSEARCH_DB XSEARCH_MODEL
mkdir -p "$HOME" "$tmp/videos"
cp "$fixtures/video/visible-640x360-h264.mp4" "$tmp/videos/"
grep -qx "xsearch [0-9.]*" <<<"$("$xs" --version)" || fail "--version: $("$xs" --version 2>&1)"
db=$tmp/library.db
"$xs" ingest "$tmp/videos" --db "$db" --model "$fixtures/xclip-tiny-full" >"$tmp/ingest.out" 2>&1 ||
  { cat "$tmp/ingest.out" >&2; fail "ingest failed"; }
"$xs" query "a person walking" --db "$db" --json >"$tmp/query.out" 2>&1 || { cat "$tmp/query.out" >&2; fail "query failed"; }
grep -q "visible-640x360-h264.mp4" "$tmp/query.out" || { cat "$tmp/query.out" >&2; fail "query did not find the video"; }
grep -q '"thumbnail": *"/' "$tmp/query.out" || { cat "$tmp/query.out" >&2; fail "query made no thumbnail (xsearch-media)"; }

# Every command --help lists, at every level ("model pull").
commands=()
list_commands() {  # list_commands [COMMAND...]: the subcommands under it, recursively
  local sub
  for sub in $("$xs" "$@" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'); do
    commands+=("$*${*:+ }$sub")
    list_commands "$@" "$sub"
  done
}
list_commands
((${#commands[@]} >= 10)) || fail "only ${#commands[@]} commands in --help: ${commands[*]}"

man_page=$prefix/$mandir/man1/xsearch.1
[ -s "$man_page" ] || fail "$man_page: missing or empty"
if command -v man >/dev/null; then
  MANWIDTH=200 man -l "$man_page" >"$tmp/man.txt" 2>"$tmp/man.err" || fail "man -l $man_page: $(cat "$tmp/man.err")"
  [ ! -s "$tmp/man.err" ] || fail "man -l $man_page: $(cat "$tmp/man.err")"
  for c in "${commands[@]}"; do grep -q "xsearch $c" "$tmp/man.txt" || fail "the man page lacks 'xsearch $c'"; done
  grep -q "XSEARCH_DB" "$tmp/man.txt" || fail "the man page lacks the environment"
else
  echo "install_tree: man is not installed: the man page is not rendered" >&2
fi

bash_completion=$prefix/$datadir/bash-completion/completions/xsearch
zsh_completion=$prefix/$datadir/zsh/vendor-completions/_xsearch
fish_completion=$prefix/$datadir/fish/vendor_completions.d/xsearch.fish
for f in "$bash_completion" "$zsh_completion" "$fish_completion"; do
  [ -s "$f" ] || fail "$f: missing or empty"
  for c in "${commands[@]}"; do grep -qw -- "${c##* }" "$f" || fail "$f does not mention the command '$c'"; done
done
# What bash offers (the script as bash-completion would load it): command words, then an option. (grep -q
# reads here-strings: in a pipe it may stop reading early, and pipefail would count the writer's SIGPIPE.)
complete_bash() {  # complete_bash WORD... : the candidates for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=(xsearch "$@"); COMP_CWORD=$#; _xsearch; printf "%s\n" "${COMPREPLY[@]}"' _ "$bash_completion" "$@"
}
[ "$(complete_bash qu)" = query ] || fail "bash: 'xsearch qu' completes to '$(complete_bash qu)'"
[ "$(complete_bash model pu)" = pull ] || fail "bash: 'xsearch model pu' completes to '$(complete_bash model pu)'"
grep -qx -- --json <<<"$(complete_bash query --db x --j)" || fail "bash: 'xsearch query --db x --j' lacks --json"
grep -qx -- --model <<<"$(complete_bash ingest --)" || fail "bash: 'xsearch ingest --' lacks --model"
if command -v zsh >/dev/null; then zsh -n "$zsh_completion" || fail "$zsh_completion: zsh -n failed"; fi
if command -v fish >/dev/null; then fish -n "$fish_completion" || fail "$fish_completion: fish -n failed"; fi
# `xsearch completion SHELL` stays a user's command, and prints what was installed.
"$xs" completion bash | cmp -s - "$bash_completion" || fail "xsearch completion bash differs from the installed file"
echo "install_tree: ok (${#commands[@]} commands)"
