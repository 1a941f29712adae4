#!/usr/bin/env bash
# Checks the dynamic section of each ELF file given: libstdc++.so.6 and libgcc_s.so.1 must be NEEDED, and
# before any LibTorch library (libtorch*, libc10*). Why: the dynamic linker resolves a symbol in the first
# library of that list that defines it. PyTorch's libtorch.so exports its own copy of 64 std::filesystem
# symbols; an executable linked with --as-needed (Ubuntu's default) then lists no libstdc++ at all, and its
# std::filesystem calls land in libtorch's copy (remove_all jumped to address 0 on the GPU machine).
# CMakeLists.txt puts both libraries first (XSEARCH_RUNTIME_FIRST_LINK_OPTIONS); this proves it per file.
# Usage: scripts/check-needed-order.sh FILE...   (exit 1 naming every file that breaks the rule)
set -euo pipefail
if [ $# -eq 0 ]; then echo "usage: $0 ELF-FILE..." >&2; exit 2; fi
command -v readelf >/dev/null || { echo "check-needed-order: readelf (binutils) not found" >&2; exit 2; }
bad=0
for file in "$@"; do
  if ! needed=$(LC_ALL=C readelf -d "$file" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); then
    echo "check-needed-order: $file: not an ELF file readelf can read" >&2; bad=1; continue
  fi
  first_torch=0 stdcxx=0 gcc_s=0 i=0
  while IFS= read -r lib; do
    [ -n "$lib" ] || continue
    i=$((i + 1))
    case $lib in
      libtorch*|libc10*) [ "$first_torch" -ne 0 ] || first_torch=$i ;;
      libstdc++.so.*) [ "$stdcxx" -ne 0 ] || stdcxx=$i ;;
      libgcc_s.so.*) [ "$gcc_s" -ne 0 ] || gcc_s=$i ;;
    esac
  done <<<"$needed"
  problems=()
  [ "$stdcxx" -ne 0 ] || problems+=("libstdc++ is not NEEDED")
  [ "$gcc_s" -ne 0 ] || problems+=("libgcc_s is not NEEDED")
  if [ "$first_torch" -ne 0 ]; then
    [ "$stdcxx" -eq 0 ] || [ "$stdcxx" -lt "$first_torch" ] || problems+=("libstdc++ comes after a LibTorch library")
    [ "$gcc_s" -eq 0 ] || [ "$gcc_s" -lt "$first_torch" ] || problems+=("libgcc_s comes after a LibTorch library")
  fi
  if ((${#problems[@]})); then
    bad=1
    echo "check-needed-order: $file: $(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g') (NEEDED: $(echo $needed | sed 's/ /, /g'))" >&2
  fi
done
exit $bad
