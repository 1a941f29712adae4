#!/usr/bin/env bash
# The programs that run the model must load OpenBLAS's OpenMP build from XSEARCH_OPENMP_BLAS_DIR, whatever
# the system's alternatives point to (a fresh Debian picks the pthread build, which fights LibTorch's
# OpenMP threads: docs/speed.md). Checks what the dynamic loader resolves (ldd), library by library.
#   tests/check_openmp_blas.sh DIR PROGRAM...
set -euo pipefail
dir=$1
shift
status=0
for program in "$@"; do
  resolved=$(ldd "$program")
  for lib in libopenblas.so.0 libblas.so.3 liblapack.so.3; do
    where=$(awk -v lib="$lib" '$1 == lib { print $3 }' <<<"$resolved")
    if [ "$(dirname "$where" 2>/dev/null)" != "$dir" ]; then
      echo "check_openmp_blas: $program loads $lib from '${where:-nowhere}', not from $dir" >&2
      status=1
    fi
  done
done
[ "$status" -eq 0 ] && echo "check_openmp_blas: $# programs load OpenBLAS (libopenblas, libblas, liblapack) from $dir"
exit "$status"
