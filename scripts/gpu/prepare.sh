# Sourced by scripts/gpu-check.sh --prepare (after scripts/gpu/common.sh): builds deps/gpu-bundle.tar.xz.
# ---------------------------------------------------------------------------------------------------------
# --prepare
# ---------------------------------------------------------------------------------------------------------

# apt-get download into $1 the packages named after it that are not there yet.
fetch_debs() {
  local dir=$1 p missing=()
  shift
  mkdir -p "$dir"
  for p in "$@"; do compgen -G "$dir/${p}_*.deb" >/dev/null || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "gpu-check: downloading ${missing[*]}"
    (cd "$dir" && apt-get -q download "${missing[@]}") || die "apt-get download failed (apt-get update first?)"
  fi
}
deb_of() { compgen -G "$work/debs/${1}_*.deb" | head -1; }

# apt-get with a private list of Debian 12 source indexes (deb-src), leaving the system's apt alone.
apt_src() {  # apt-get or apt-cache, then its arguments
  "$1" -q -o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$work/apt/lists" "${@:2}"
}
setup_apt_src() {
  [ -f "$work/apt/sources.list" ] && compgen -G "$work/apt/lists/*Sources*" >/dev/null && return
  mkdir -p "$work/apt/lists/partial"
  local main sec keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  main=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  sec=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep security | head -1 || true)
  main=${main:-http://deb.debian.org/debian}
  sec=${sec:-http://deb.debian.org/debian-security}
  printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$main" bookworm "$keyring" "$main" bookworm-updates \
    "$keyring" "$sec" bookworm-security >"$work/apt/sources.list"
  apt_src apt-get update >/dev/null || die "apt-get update of the deb-src lists failed"
}

# Unpacked Debian source package $1 (the version of binary package $2 when the archive still has it, else
# the newest version the archive serves): prints its folder.
debian_source() {
  local src=$1 bin=$2 ver v dir
  ver=$(apt-cache policy "$bin" | awk '/Candidate:/ {print $2}' | sed 's/+b[0-9]*$//')
  for v in "$ver" $(apt_src apt-cache showsrc "$src" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -rV); do
    [ -n "$v" ] || continue
    dir=$work/src/$src-${v//:/_}
    if [ -d "$dir" ]; then echo "$dir"; return; fi
    mkdir -p "$work/src/dl"
    if (cd "$work/src/dl" && apt_src apt-get source --download-only "$src=$v" >/dev/null 2>&1); then
      (cd "$work/src/dl" && dpkg-source -x "${src}_${v#*:}.dsc" "$dir" >/dev/null) || die "dpkg-source -x $src failed"
      echo "$dir"
      return
    fi
  done
  die "cannot download the source package $src"
}

# Builds with `configure` in $work/build/$1 (skipped when the stamp says the same source and options were
# built before) and installs into $work/install/$1. $2: source folder; then the configure arguments; the
# function build_$1_steps does make + install.
build_component() {
  local name=$1 src=$2
  shift 2
  local dir=$work/build/$name stamp
  stamp="$src $* $(declare -f "build_${name}_steps" | md5sum)"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] && [ -d "$work/install/$name" ]; then
    echo "gpu-check: $name: already built ($(basename "$src"))"
    return
  fi
  local t0
  t0=$(now)
  echo "gpu-check: building $name from $(basename "$src") (log: $dir/build.log)"
  rm -rf "$dir" "$work/install/$name"
  mkdir -p "$dir"
  (cd "$dir" && nice -n 10 "$src/configure" "$@" >build.log 2>&1) || { tail -20 "$dir/build.log"; die "$name: configure failed"; }
  (cd "$dir" && "build_${name}_steps" >>build.log 2>&1) || { tail -20 "$dir/build.log"; die "$name: build failed"; }
  echo "$stamp" >"$dir/.stamp"
  echo "gpu-check: $name built in $(since "$t0") s"
  # FFmpeg drops what lacks its library (e.g. an encoder of a library not enabled): say so
  grep -h '^WARNING: Disabled' "$dir/build.log" | sed "s/^/gpu-check: $name: /" || true
}
build_ffmpeg_steps() {
  nice -n 10 make -j"$(nproc)" && make install DESTDIR="$work/install/ffmpeg"
}
build_postgres_steps() {
  local d
  for d in "${postgres_dirs[@]}"; do nice -n 10 make -j"$(nproc)" -C "$d"; done
  for d in "${postgres_dirs[@]}"; do make -C "$d" install DESTDIR="$work/install/postgres"; done
}
build_curl_steps() {
  # Debian's source carries the name of its GnuTLS flavour's symbol version (CURL_GNUTLS_3): this is the
  # OpenSSL flavour, versioned CURL_OPENSSL_4 like libcurl4.
  sed -i 's/^CURL_OPENSSL_3$/CURL_OPENSSL_4/' lib/libcurl.vers
  nice -n 10 make -j"$(nproc)" -C lib && make -C lib install DESTDIR="$work/install/curl" &&
    make -C include install DESTDIR="$work/install/curl" && make install-pkgconfigDATA DESTDIR="$work/install/curl"
}

is_elf() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

prepare() {
  for t in apt-get dpkg-deb dpkg-source make gcc xz readelf strip od md5sum; do
    command -v "$t" >/dev/null || die "$t is needed to prepare the bundle"
  done
  [ -f /etc/debian_version ] && grep -q '^12' /etc/debian_version || echo "gpu-check: warning: this is not Debian 12; the bundle is meant to be Debian 12's"
  local t0
  t0=$(now)
  mkdir -p "$work"
  fetch_debs "$work/debs" "${bundle_debs[@]}" "${build_debs[@]}"

  # The build root: every package, with its .pc files pointed at it.
  local stage=$work/stage
  rm -rf "$stage"
  mkdir -p "$stage"
  for p in "${bundle_debs[@]}" "${build_debs[@]}"; do dpkg -x "$(deb_of "$p")" "$stage"; done
  relocate_pc "$stage"
  local tools=$work/tools
  rm -rf "$tools"
  mkdir -p "$tools"
  ln -s "$stage/usr/bin/nasm" "$stage/usr/bin/patchelf" "$tools/"

  setup_apt_src
  local ffmpeg_src postgres_src curl_src
  ffmpeg_src=$(debian_source ffmpeg ffmpeg)
  postgres_src=$(debian_source postgresql-15 postgresql-15)
  curl_src=$(debian_source curl libcurl4)
  local incs="-I$stage/usr/include -I$stage/usr/include/$ma" libs="-L$stage/usr/lib/$ma -L$stage/lib/$ma"
  # ... and every encoder, decoder, muxer, demuxer and filter whose name the tests mention as a word
  # (mpeg2video, gif, mandelbrot, libvpx-vp9 as the CLI spells it, ...): a test that starts using one
  # brings it along at the next --prepare.
  local kind n wanted from_tests=()
  for kind in encoder decoder muxer demuxer filter; do
    wanted=""
    for n in $("$ffmpeg_src/configure" --list-${kind}s); do
      if grep -qw -e "$n" -e "${n//_/-}" "$repo"/tests/*.cpp "$repo"/tests/*.hpp; then wanted+=${wanted:+,}$n; fi
    done
    if [ -n "$wanted" ]; then from_tests+=("--enable-$kind=$wanted"); fi
  done
  PATH=$tools:$PATH PKG_CONFIG_LIBDIR=$stage/usr/lib/$ma/pkgconfig:$stage/usr/share/pkgconfig \
    build_component ffmpeg "$ffmpeg_src" "${ffmpeg_configure[@]}" "${from_tests[@]}" --extra-cflags="$incs" \
    --extra-ldflags="$libs -Wl,-rpath-link,$stage/usr/lib/$ma:$stage/lib/$ma"
  build_component postgres "$postgres_src" "${postgres_configure[@]}"
  build_component curl "$curl_src" "${curl_configure[@]}" --with-openssl="$stage/usr" --with-zlib="$stage/usr" \
    CPPFLAGS="$incs" LDFLAGS="$libs"

  # The bundle's root: the packages, then what was built, then pruned.
  local root=$work/root L
  rm -rf "$root"
  mkdir -p "$root"
  for p in "${bundle_debs[@]}"; do dpkg -x "$(deb_of "$p")" "$root"; done
  if [ -d "$root/lib/$ma" ]; then cp -a "$root/lib/$ma/." "$root/usr/lib/$ma/"; fi
  rm -rf "$root/lib" "$root/etc" "$root/usr/sbin" "$root/usr/libexec"
  cp -a "$work/install/ffmpeg/." "$work/install/postgres/." "$work/install/curl/." "$root/"
  L=$root/usr/lib/$ma
  (cd "$root/usr/share" && for d in *; do case $d in cmake | pkgconfig | postgresql) ;; *) rm -rf "$d" ;; esac; done)
  (cd "$root/usr/bin" && for f in *; do case $f in ffmpeg | ffprobe | sqlite3 | pkgconf) ;; *) rm -f "$f" ;; esac; done)
  find "$L" -maxdepth 1 \( -name '*.a' ! -name libfaiss.a -o -name '*.la' \) -delete
  rm -rf "$L/engines-3" "$L/ossl-modules" "$root/usr/include/postgresql/15" "$root/usr/include/postgresql/internal"
  rm -f "$L/openblas-openmp/libblas.so.3" "$L/openblas-openmp/liblapack.so.3"
  ln -sf openblas-openmp/libopenblas.so.0 "$L/libopenblas.so.0"
  ln -sf libopenblas.so.0 "$L/libopenblas.so"
  # FAISS's CMake package names /usr's reference BLAS and LAPACK: OpenBLAS holds both.
  sed -i -e "s#/usr/lib/$ma/libblas\.so#\${_IMPORT_PREFIX}/lib/$ma/libopenblas.so#g" \
    -e "s#/usr/lib/$ma/liblapack\.so#\${_IMPORT_PREFIX}/lib/$ma/libopenblas.so#g" "$L/cmake/faiss/faiss-targets.cmake"
  # No CMake package may name a file outside the bundle (comments and CMake's own /lib -> /usr/lib check
  # aside).
  if grep -rnE '(INTERFACE_LINK_LIBRARIES|INTERFACE_INCLUDE_DIRECTORIES|IMPORTED_LOCATION[A-Z_]*) .*"?/usr/' \
    "$L/cmake" "$root/usr/share/cmake"; then
    die "a CMake package above names /usr"
  fi
  # FAISS 1.7.3's headers use uint8_t & co. without <cstdint>, which GCC 12's headers brought along and GCC
  # 13's (the GPU machine's) no longer do: each header that needs it includes it.
  local h
  while IFS= read -r h; do
    if grep -qE '\bu?int(8|16|32|64)_t\b' "$h" && ! grep -qE '#include <(cstdint|stdint\.h|inttypes\.h)>' "$h"; then
      if grep -q '^#include' "$h"; then
        sed -i '0,/^#include/s//#include <cstdint>  \/\/ added by scripts\/gpu-check.sh (GCC 13)\n#include/' "$h"
      else
        sed -i '0,/^#pragma once/s//#pragma once\n#include <cstdint>  \/\/ added by scripts\/gpu-check.sh (GCC 13)/' "$h"
      fi
    fi
  done < <(find "$root/usr/include/faiss" -name '*.h')
  # Absolute symlinks (zlib's libz.so -> /lib/...) become relative ones inside the root.
  local link target
  while IFS= read -r link; do
    target=$(readlink "$link")
    target=${target/#\/lib\//\/usr\/lib\/}
    [ -e "$root$target" ] || die "$link points at $target, which the bundle lacks"
    ln -sfr "$root$target" "$link"
  done < <(find "$root" -type l -lname '/*')
  # Strip what was built here (Debian's files are stripped already); the programs find the bundle's
  # libraries through an RPATH relative to themselves (DT_RPATH, so that it also serves their libraries).
  local f
  while IFS= read -r f; do is_elf "$f" && strip --strip-unneeded "$f"; done < <(find "$root" -type f ! -name '*.a' ! -name '*.o')
  for f in "$root"/usr/bin/*; do "$tools/patchelf" --force-rpath --set-rpath "\$ORIGIN/../lib/$ma" "$f"; done
  for f in "$root"/usr/lib/postgresql/15/bin/*; do
    "$tools/patchelf" --force-rpath --set-rpath "\$ORIGIN/../../../$ma" "$f"
  done

  # Closure: every NEEDED soname is in the bundle or the machine's own (system_sonames); libraries that
  # nothing reaches from the programs, the PostgreSQL modules or a linkable library (one with a dev
  # symlink lib*.so) are dropped.
  declare -A file_of=() reached=()
  local s
  while IFS= read -r f; do
    is_elf "$f" || continue
    s=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ -n "$s" ] && file_of[$s]=$f
  done < <(find "$L" -name '*.so*')
  local queue=() missing=()
  for f in "$root"/usr/bin/* "$root"/usr/lib/postgresql/15/bin/* "$root"/usr/lib/postgresql/15/lib/*.so; do queue+=("$f"); done
  for f in "$L"/*.so; do [ -L "$f" ] && queue+=("$(readlink -f "$f")"); done
  while ((${#queue[@]})); do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    [ -n "${reached[$f]:-}" ] && continue
    reached[$f]=1
    for s in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      if [ -n "${file_of[$s]:-}" ]; then
        queue+=("${file_of[$s]}")
      elif ! [[ " $(echo $system_sonames) " == *" $s "* ]]; then
        missing+=("$s (needed by ${f#"$root/"})")
      fi
    done
  done
  ((${#missing[@]} == 0)) || die "the bundle lacks: ${missing[*]}"
  local dropped=()
  for s in "${!file_of[@]}"; do
    f=${file_of[$s]}
    if [ -z "${reached[$f]:-}" ]; then
      dropped+=("$s")
      find "$L" -lname "$(basename "$f")" -delete
      rm -f "$f"
    fi
  done
  find "$L" -xtype l -delete
  ((${#dropped[@]} == 0)) || echo "gpu-check: dropped, nothing needs them: ${dropped[*]}"

  # What is in it.
  {
    echo "xsearch GPU bundle, made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "Debian packages:"
    for p in "${bundle_debs[@]}"; do echo "  $(dpkg-deb -f "$(deb_of "$p")" Package Version | paste -sd' ')"; done
    echo "Built from Debian source packages: $(basename "$ffmpeg_src") $(basename "$postgres_src") $(basename "$curl_src")"
    echo "FFmpeg configure: ${ffmpeg_configure[*]} ${from_tests[*]}"
    echo "PostgreSQL configure: ${postgres_configure[*]}"
    echo "libcurl configure: ${curl_configure[*]}"
  } >"$root/BUNDLE-MANIFEST.txt"

  local raw
  raw=$(du -sb "$root" | cut -f1)
  echo "gpu-check: compressing $(mib "$raw") (xz -9e) ..."
  mkdir -p "$(dirname "$bundle")"
  tar -C "$root" --sort=name --owner=0 --group=0 --numeric-owner -cf - . | xz -9e -T"$(nproc)" >"$bundle.tmp"
  mv "$bundle.tmp" "$bundle"
  local packed repo_bytes total
  packed=$(stat -c %s "$bundle")
  # What a transfer holds besides: the tracked and the untracked, not ignored files of the working tree.
  repo_bytes=$(git ls-files -z -co --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
  total=$((repo_bytes + packed))
  echo
  echo "gpu-check: bundle $bundle: $(mib "$packed") compressed ($(mib "$raw") unpacked, $(find "$root" -type f | wc -l) files)"
  echo "gpu-check: one transfer: working tree $(mib "$repo_bytes") + bundle $(mib "$packed") = $(mib "$total") of $(mib "$transfer_limit") (left: $(mib $((transfer_limit - total))))"
  echo "gpu-check: prepared in $(since "$t0") s"
  ((total <= transfer_limit)) || die "the working tree and the bundle exceed one transfer"
  echo
  echo "On the GPU machine, one call of the device tool \`run\`:"
  echo "  command:   scripts/gpu-check.sh --full"
  echo "  carry:     [\"$bundle\"]"
  echo "  timeout_s: 590"
  echo "(the quick model-only check needs no bundle: command scripts/gpu-check.sh --model-only, no carry)"
}

