# Sourced by scripts/gpu-check.sh --full (after scripts/gpu/common.sh): the whole build and suite on the GPU machine.
# ---------------------------------------------------------------------------------------------------------
# --full
# ---------------------------------------------------------------------------------------------------------


# Hides the machine's own copies of what the bundle brings (see --hide-host above); run in a private mount
# namespace. One overlay on each of /usr/include, /usr/lib/MULTIARCH, /usr/share and /usr/bin whose upper
# layer holds whiteouts for the hidden names (a symlink's own name, not its target); whole folders get an
# empty folder bound over them.
hide_host() {
  local tmp p top
  tmp=$(mktemp -d /tmp/xsearch-gpucheck-hide.XXXXXX)
  mkdir -p "$tmp/empty"
  local names=()
  # headers, CMake packages, .pc files, link-time libraries: the bundle's names
  for p in "$prefix"/usr/include/* "$prefix"/usr/include/$ma/* "$prefix"/usr/lib/$ma/cmake/* "$prefix"/usr/share/cmake/* \
    "$prefix"/usr/lib/$ma/pkgconfig/*.pc "$prefix"/usr/share/pkgconfig/*.pc "$prefix"/usr/lib/$ma/*.so "$prefix"/usr/lib/$ma/*.a; do
    [ "$p" = "$prefix/usr/include/$ma" ] && continue  # glibc's own headers are in there
    names+=("${p#"$prefix"}")
  done
  # runtime libraries nothing on this machine but xsearch needs (the rest, e.g. libssl or libz, stay: CMake
  # itself needs them; the ldd check below shows that xsearch takes the bundle's)
  for p in "$prefix"/usr/lib/$ma/lib{av,sw,pq,sqlite3,zip,utf8proc,fmt,cpp-httplib,x264,x265,vpx,aom,mp3lame}*.so.*; do
    names+=("${p#"$prefix"}")
  done
  # the reference BLAS and LAPACK's link names (FAISS's Debian package names them; the GPU machine has none)
  names+=(/usr/lib/$ma/libblas.so /usr/lib/$ma/liblapack.so)
  names+=(/usr/bin/ffmpeg /usr/bin/ffprobe /usr/bin/sqlite3 /usr/bin/pkg-config /usr/bin/pkgconf
          /usr/bin/x86_64-linux-gnu-pkg-config /usr/bin/node /usr/bin/nodejs)
  local hidden=0
  for p in "${names[@]}"; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    mkdir -p "$tmp/upper$(dirname "$p")"
    mknod "$tmp/upper$p" c 0 0
    hidden=$((hidden + 1))
  done
  for top in /usr/include /usr/lib/$ma /usr/share /usr/bin; do
    mkdir -p "$tmp/upper$top" "$tmp/work$top"
    mount -t overlay overlay -o "lowerdir=$top,upperdir=$tmp/upper$top,workdir=$tmp/work$top" "$top"
  done
  for p in /usr/lib/postgresql /usr/share/postgresql /usr/share/zoneinfo; do
    if [ -d "$p" ]; then mount --bind "$tmp/empty" "$p"; fi
  done
  echo "gpu-check: hid $hidden of this machine's files (headers, .pc, CMake packages, libraries, programs), its PostgreSQL and tzdata"
}

# The comparisons (plain python3: json, math).
compare_py() {
  python3 - "$@" <<'EOF'
import json, math, sys
mode, a_path, b_path = sys.argv[1:4]
limit = float(sys.argv[4])
def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
if mode in ("max_abs", "cosine"):
    a = {(r["path"], round(r["start"], 3)): r["embedding"] for r in rows(a_path)}
    b = {(r["path"], round(r["start"], 3)): r["embedding"] for r in rows(b_path)}
    if not a or a.keys() != b.keys():
        print(f"the clips differ: {len(a)} against {len(b)}")
        sys.exit(1)
    max_abs, min_cos = 0.0, 1.0
    for k, x in a.items():
        y = b[k]
        max_abs = max(max_abs, max(abs(p - q) for p, q in zip(x, y)))
        dot = sum(p * q for p, q in zip(x, y))
        min_cos = min(min_cos, dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y)))
    dim = len(next(iter(a.values())))
    print(f"max |diff| {max_abs:.3g}, min cosine {min_cos:.7f} over {len(a)} clips of dim {dim}")
    ok = max_abs <= limit if mode == "max_abs" else min_cos >= limit
else:  # classify: --json output of two runs
    a, b = json.load(open(a_path)), json.load(open(b_path))
    pa = [p for c in a.get("clips", [a]) for p in c["probs"]]
    pb = [p for c in b.get("clips", [b]) for p in c["probs"]]
    if len(pa) != len(pb) or not pa:
        print(f"the probabilities differ in number: {len(pa)} against {len(pb)}")
        sys.exit(1)
    d = max(abs(p - q) for p, q in zip(pa, pb))
    print(f"max |diff| of {len(pa)} probabilities {d:.3g}")
    ok = d <= limit
sys.exit(0 if ok else 1)
EOF
}

full() {
  local hide=0
  [ "${2:-}" = --hide-host ] && hide=1
  if ((hide)) && [ -z "${XSEARCH_GPUCHECK_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] || die "--hide-host needs root (mount namespaces)"
    XSEARCH_GPUCHECK_NS=1 exec unshare -m --propagation private "$repo/scripts/gpu-check.sh" --full --hide-host
  fi
  local out=${OUT:-}
  local build=${XSEARCH_BUILD_DIR:-build-gpucheck}
  mkdir -p "$build"
  build=$(cd "$build" && pwd)
  local log=$build/gpu-check.log
  exec > >(tee "$log") 2>&1
  local t_all
  t_all=$(now)
  echo "gpu-check --full on $(hostname), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"

  phase "unpack the bundle"
  [ -f "$bundle" ] || die "no $bundle: run scripts/gpu-check.sh --prepare on a Debian 12 machine and carry it"
  rm -rf "$prefix"
  mkdir -p "$prefix"
  if command -v xz >/dev/null; then
    xz -dc "$bundle" | tar -x -C "$prefix"
  else  # a machine without xz-utils: Python's own lzma
    python3 -c 'import sys, tarfile
kw = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2], **kw)' "$bundle" "$prefix"
  fi
  relocate_pc "$prefix"
  # Debian's FAISS CMake package links the reference BLAS and LAPACK by absolute path
  # (/usr/lib/MULTIARCH/libblas.so, liblapack.so), which the GPU machine does not have: the bundle's OpenBLAS
  # (which holds LAPACK too) takes their place.
  sed -i "s#/usr/lib/$ma/lib\(blas\|lapack\)\.so#$prefix/usr/lib/$ma/libopenblas.so#g" "$prefix"/usr/lib/$ma/cmake/faiss/*.cmake
  head -1 "$prefix/BUNDLE-MANIFEST.txt"
  if ((hide)); then hide_host; fi

  phase "LibTorch"
  # Asked before PATH changes: PyTorch's LibTorch when python3 has torch (its CUDA is then what counts),
  # else the system's LibTorch (Debian's, CPU only).
  local torch_prefix="" cuda=0
  if command -v python3 >/dev/null && python3 -c 'import torch' 2>/dev/null; then
    torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
    cuda=$(python3 -c 'import torch; print(int(torch.cuda.is_available()))')
    echo "PyTorch $(python3 -c 'import torch; print(torch.__version__)') at $torch_prefix, CUDA available: $cuda"
  else
    echo "no PyTorch: the system's LibTorch (CPU)"
  fi
  local dev=cpu
  if ((cuda)); then dev=cuda; else echo "no CUDA: comparing cpu against cpu, CUDA run still to be done"; fi

  # The bundle first: its programs on PATH, only its .pc files, its PostgreSQL server.
  export PATH=$prefix/usr/bin:$PATH
  export PKG_CONFIG_LIBDIR=$prefix/usr/lib/$ma/pkgconfig:$prefix/usr/share/pkgconfig
  unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
  export XSEARCH_PG_BIN=$prefix/usr/lib/postgresql/15/bin
  local pg_copy=""
  if [ "$(id -u)" -eq 0 ]; then
    # The tests run the server as `postgres` (it refuses root): a bare machine has no such user.
    if ! getent passwd postgres >/dev/null; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres ||
        echo "gpu-check: cannot create the postgres user: the [postgres] tests will fail"
    fi
    # ... and that user must reach the server's files: a copy in /tmp when the repository's folders are
    # closed to it (e.g. under /root).
    if getent passwd postgres >/dev/null && ! runuser -u postgres -- test -x "$XSEARCH_PG_BIN/postgres" 2>/dev/null; then
      pg_copy=$(mktemp -d /tmp/xsearch-gpucheck-pg.XXXXXX)
      mkdir -p "$pg_copy/usr/lib/$ma" "$pg_copy/usr/share"
      cp -a "$prefix/usr/lib/postgresql" "$pg_copy/usr/lib/"
      cp -a "$prefix/usr/share/postgresql" "$pg_copy/usr/share/"
      cp -a "$prefix/usr/lib/$ma"/libpq.so* "$pg_copy/usr/lib/$ma/"
      chmod -R a+rX "$pg_copy"
      export XSEARCH_PG_BIN=$pg_copy/usr/lib/postgresql/15/bin
      trap 'rm -rf "$pg_copy"' EXIT
    fi
  fi
  echo "PostgreSQL server: $XSEARCH_PG_BIN"

  phase "configure"
  local lib=$prefix/usr/lib/$ma
  local rpath="-Wl,--disable-new-dtags -Wl,-rpath,$lib"
  local cmake_args=(
    -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_PREFIX_PATH=${torch_prefix:+$torch_prefix;}$prefix/usr;$lib/cmake;$prefix/usr/share/cmake"
    "-DCMAKE_LIBRARY_PATH=$lib" "-DCMAKE_INCLUDE_PATH=$prefix/usr/include;$prefix/usr/include/postgresql"
    # OpenSSL's and zipconf's multiarch headers (a Debian system has that folder on its default path)
    "-DCMAKE_CXX_STANDARD_INCLUDE_DIRECTORIES=$prefix/usr/include/$ma"
    "-DPKG_CONFIG_EXECUTABLE=$prefix/usr/bin/pkgconf" -DBLA_VENDOR=OpenBLAS "-DOPENSSL_ROOT_DIR=$prefix/usr"
    "-Dfaiss_DIR=$lib/cmake/faiss" "-DPostgreSQL_INCLUDE_DIR=$prefix/usr/include/postgresql"
    "-DPostgreSQL_LIBRARY=$lib/libpq.so" "-DSQLite3_INCLUDE_DIR=$prefix/usr/include" "-DSQLite3_LIBRARY=$lib/libsqlite3.so"
    # DT_RPATH (not RUNPATH): it also serves the libraries' own dependencies (FFmpeg's codecs, OpenBLAS's
    # libgfortran), so nothing needs LD_LIBRARY_PATH and the machine's libraries of the same names never win
    "-DCMAKE_EXE_LINKER_FLAGS=$rpath" "-DCMAKE_SHARED_LINKER_FLAGS=$rpath" "-DCMAKE_MODULE_LINKER_FLAGS=$rpath"
    "-DXSEARCH_FIXTURES=${XSEARCH_FIXTURES:-$repo/tests/fixtures}"
  )
  if command -v ninja >/dev/null; then cmake_args+=(-G Ninja); fi
  cmake "${cmake_args[@]}" >"$build/configure.log" 2>&1 || { tail -40 "$build/configure.log"; die "configure failed ($build/configure.log)"; }
  # Where each dependency was found: all in the bundle, but LibTorch, Catch2 and nlohmann-json.
  local outside
  outside=$(grep -E '^(SQLite3_LIBRARY|SQLite3_INCLUDE_DIR|PostgreSQL_LIBRARY|CURL_LIBRARY[A-Z_]*|CURL_INCLUDE_DIR|OPENSSL_CRYPTO_LIBRARY|OPENSSL_INCLUDE_DIR|BLAS_[a-z]*_LIBRARY|LAPACK_[a-z]*_LIBRARY|fmt_DIR|CLI11_DIR|faiss_DIR|pkgcfg_lib_[A-Za-z0-9_]*)[:=]' "$build/CMakeCache.txt" | grep -v "$prefix" | grep -v -- '-NOTFOUND' || true)
  if [ -n "$outside" ]; then echo "$outside"; record FAIL "configure" "found outside the bundle (above)"; fi

  phase "build"
  export CCACHE_DISABLE=1  # a cold build, as on the GPU machine (which has no ccache)
  # -k: on a machine lent for minutes, one run should show every compile error, not the first
  local keep_going=(-k)
  if command -v ninja >/dev/null; then keep_going=(-k 0); fi
  cmake --build "$build" -j "$(nproc)" -- "${keep_going[@]}" >"$build/build.log" 2>&1 ||
    { grep -E -A8 '^FAILED|error:' "$build/build.log" | head -150; tail -5 "$build/build.log"; die "build failed ($build/build.log)"; }
  tail -1 "$build/build.log"
  # Each of the bundle's libraries that xsearch-full loads comes from the bundle; nothing is missing.
  local exe soname arrow path bad="" inside=0
  for exe in xsearch xsearch-full xsearch-media tests/xsearch_tests; do
    while read -r soname arrow path _; do
      [ "$arrow" = "=>" ] || continue
      if [ "$path" = "not" ]; then
        bad+=" $exe:$soname(not found)"
      elif [ -e "$lib/$soname" ]; then
        # Rehearsing with Debian's LibTorch (no PyTorch): it needs the host's BLAS (the alternatives' libblas.so.3,
        # in Debian's openblas-openmp folder, which CMakeLists.txt then puts first in every RUNPATH), so its
        # OpenBLAS and libgfortran are the host's by design; hiding that folder breaks the LibTorch link. The GPU
        # machine has neither the folder nor Debian's LibTorch.
        if [ -z "$torch_prefix" ] && [[ $soname == libopenblas.so.0 || $soname == libgfortran.so.5 || $soname == libquadmath.so.0 ]]; then continue; fi
        case $path in "$prefix"/*) inside=$((inside + 1)) ;; *) bad+=" $exe:$soname=>$path" ;; esac
      fi
    done < <(ldd "$build/$exe")
  done
  if [ -n "$bad" ]; then
    record FAIL "libraries" "resolved outside the bundle or missing:$bad"
  else
    record PASS "libraries" "xsearch, xsearch-full, xsearch-media, xsearch_tests: all $inside loads of the bundle's sonames come from $prefix, none missing"
  fi
  ldd "$build/xsearch-full" | grep -- "$prefix" | sed "s|$prefix|PREFIX|" | awk '{print "  " $1 " => " $3}' | head -40

  phase "tests (ctest -j$(nproc))"
  local ctest_args=(--test-dir "$build" -j "$(nproc)" --timeout 900)
  # shellcheck disable=SC2206
  ctest_args+=(${XSEARCH_GPUCHECK_CTEST_ARGS:-})
  local ctest_status=0
  if ((cuda)); then export XSEARCH_TEST_DEVICE=cuda; fi
  ctest "${ctest_args[@]}" >"$build/ctest.log" 2>&1 || ctest_status=$?
  # What a failed test printed (the log above has only its name): run again, alone, with its output; on the
  # GPU machine this log is the only way to see why.
  if ((ctest_status != 0)); then
    ctest --test-dir "$build" --rerun-failed --output-on-failure --timeout 900 >"$build/ctest-failed.log" 2>&1 || true
    grep -E -B3 -A12 'FAILED:|error:' "$build/ctest-failed.log" | head -80 || true
  fi
  unset XSEARCH_TEST_DEVICE
  sed -n '/tests passed/,$p' "$build/ctest.log" | head -60
  local summary
  summary=$(grep -E 'tests passed' "$build/ctest.log" | tail -1 || true)
  if ((ctest_status == 0)); then record PASS "ctest" "$summary"; else record FAIL "ctest" "${summary:-ctest exited $ctest_status} ($build/ctest.log)"; fi
  if [ -f "$build/Testing/Temporary/CTestCostData.txt" ]; then
    echo "slowest tests (s):"
    awk 'NF == 3 {printf "%8.1f  %s\n", $3, $1}' "$build/Testing/Temporary/CTestCostData.txt" | sort -rn | head -8
  fi

  phase "ingest, classify, query: ${dev} against cpu"
  local x=$build/xsearch d=$build/gpucheck
  rm -rf "$d"
  mkdir -p "$d/videos"
  local ff=(ffmpeg -nostdin -y -loglevel error)
  "${ff[@]}" -f lavfi -i testsrc2=size=320x240:rate=25 -t 10 -c:v libx264 -pix_fmt yuv420p "$d/videos/testsrc2.mp4"
  "${ff[@]}" -f lavfi -i smptebars=size=480x270:rate=30 -t 6 -c:v libvpx-vp9 -deadline realtime "$d/videos/bars.webm"
  "${ff[@]}" -f lavfi -i testsrc=size=640x360:rate=24 -t 7 -c:v mpeg4 -q:v 3 "$d/videos/testsrc.avi"
  local tiny=$repo/tests/fixtures/xclip-tiny-full b32=$d/random-b32
  # A random checkpoint of base-patch32's layout (the benchmark writes one), with the tiny fixture's
  # tokenizer and preprocessor files (CLIP's own, the same for both).
  "$build/xsearch-bench-model" --model "$b32" --device "$dev" --batches 1 --iters 1 >"$d/bench.log" 2>&1 ||
    { tail -5 "$d/bench.log"; record FAIL "random base-patch32" "xsearch-bench-model failed"; }
  cp "$tiny"/{vocab.json,merges.txt,preprocessor_config.json,special_tokens_map.json,tokenizer_config.json} "$b32/" 2>/dev/null || true
  local name model side ok detail labels="a test pattern,colour bars,a dog running,a city street at night"
  for name in tiny b32; do
    model=$tiny
    [ "$name" = b32 ] && model=$b32
    [ -f "$model/config.json" ] || continue
    local t0
    t0=$(now)
    # the reference library (CPU, float32), then $dev in float32 and CUDA in float16; each a run of its own
    local run_device run_dtype
    for side in ref "$dev-float32" cuda-float16; do
      [ "$side" = cuda-float16 ] && ((!cuda)) && continue
      run_device=${side%-*} run_dtype=${side#*-}
      [ "$side" = ref ] && run_device=cpu run_dtype=float32
      "$x" ingest "$d/videos" --db "$d/$name-$side.db" --model "$model" --device "$run_device" --dtype "$run_dtype" \
        --json --quiet >"$d/$name-$side.ingest.json" 2>"$d/$name-$side.ingest.err" ||
        { cat "$d/$name-$side.ingest.err"; record FAIL "$name ingest $side" "xsearch ingest failed"; continue; }
      "$x" dev embeddings --db "$d/$name-$side.db" >"$d/$name-$side.jsonl" ||
        record FAIL "$name embeddings $side" "xsearch dev embeddings failed"
    done
    echo "($name: ingests took $(since "$t0") s)"
    if [ -s "$d/$name-ref.jsonl" ] && [ -s "$d/$name-$dev-float32.jsonl" ]; then
      detail=$(compare_py max_abs "$d/$name-ref.jsonl" "$d/$name-$dev-float32.jsonl" 1e-4) && ok=PASS || ok=FAIL
      record "$ok" "$name embeddings $dev float32 vs cpu (max |diff| <= 1e-4)" "$detail"
    fi
    if ((cuda)) && [ -s "$d/$name-ref.jsonl" ] && [ -s "$d/$name-cuda-float16.jsonl" ]; then
      detail=$(compare_py cosine "$d/$name-ref.jsonl" "$d/$name-cuda-float16.jsonl" 0.9999) && ok=PASS || ok=FAIL
      record "$ok" "$name embeddings cuda float16 vs cpu (cosine >= 0.9999)" "$detail"
    elif ((!cuda)); then
      record SKIP "$name embeddings cuda float16 vs cpu" "no CUDA"
    fi
    # classify, per clip: the probabilities on $dev (float32) against the CPU's
    if "$x" classify "$d/videos/testsrc2.mp4" --labels "$labels" --model "$model" --device cpu --per-clip --json >"$d/$name-classify-ref.json" &&
      "$x" classify "$d/videos/testsrc2.mp4" --labels "$labels" --model "$model" --device "$dev" --dtype float32 --per-clip --json >"$d/$name-classify-$dev.json"; then
      detail=$(compare_py classify "$d/$name-classify-ref.json" "$d/$name-classify-$dev.json" 1e-4) && ok=PASS || ok=FAIL
      record "$ok" "$name classify $dev vs cpu (max |diff| <= 1e-4)" "$detail"
    else
      record FAIL "$name classify" "xsearch classify failed"
    fi
    # query: answers from the library ingested on $dev, with the CPU library's best hit
    if [ -f "$d/$name-$dev-float32.db" ] && [ -f "$d/$name-ref.db" ]; then
      local qa qb
      qa=$("$x" query "colour bars" --db "$d/$name-$dev-float32.db" -k 3 --json --no-thumbnails 2>&1) &&
        qb=$("$x" query "colour bars" --db "$d/$name-ref.db" -k 3 --json --no-thumbnails 2>&1) &&
        detail=$(python3 -c '
import json, sys
a, b = json.loads(sys.argv[1])["results"], json.loads(sys.argv[2])["results"]
if not a: sys.exit("no results")
top = lambda r: (r[0]["path"].rsplit("/", 1)[-1], r[0]["start"], round(r[0]["score"], 4))
print(f"{len(a)} results, best {top(a)}; the CPU library: {top(b)}")
sys.exit(0 if top(a)[:2] == top(b)[:2] else 1)' "$qa" "$qb") && ok=PASS || ok=FAIL
      record "$ok" "$name query on the $dev library" "${detail:-$qa}"
    fi
  done
  phase
  if [ -n "$out" ]; then
    mkdir -p "$out"
    cp "$log" "$out/" 2>/dev/null || true
    if [ -f "$build/Testing/Temporary/LastTest.log" ]; then gzip -c "$build/Testing/Temporary/LastTest.log" >"$out/LastTest.log.gz" || true; fi
    cp "$build/ctest.log" "$build/ctest-failed.log" "$d"/*.json "$d"/*.err "$out/" 2>/dev/null || true
  fi
  echo
  echo "== phases"
  printf '  %s\n' "${phases[@]}"
  printf '  %-28s %7s s\n' "total" "$(since "$t_all")"
  echo "== checks"
  printf '  %s\n' "${results[@]}"
  if ((!cuda)); then echo "  (no CUDA: comparing cpu against cpu, CUDA run still to be done)"; fi
  if ((failed)); then echo "gpu-check: FAIL"; exit 1; fi
  echo "gpu-check: PASS"
}

