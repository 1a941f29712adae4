# Sourced by scripts/gpu-check.sh: the bundle's contents and small helpers (repo is the checkout's root).

bundle=deps/gpu-bundle.tar.xz
work=$repo/deps/gpu-work
prefix=$repo/deps/gpu-prefix
ma=x86_64-linux-gnu
transfer_limit=$((64 * 1024 * 1024))

# ---------------------------------------------------------------------------------------------------------
# What goes into the bundle.
#
# Debian 12 packages unpacked as they are (then pruned: docs, man pages, locales, static libraries but
# libfaiss.a, OpenSSL's engines and legacy provider, OpenBLAS's separate libblas/liblapack copies).
bundle_debs=(
  # build + link: headers, .pc files, CMake packages and the libraries
  libfaiss-dev libsqlite3-dev libsqlite3-0 libcli11-dev libfmt-dev libfmt9 libcpp-httplib-dev libcpp-httplib0.11
  libutf8proc-dev libutf8proc2 libssl-dev libssl3 libzip-dev libzip4 zlib1g-dev zlib1g libbrotli-dev libbrotli1
  libbz2-1.0
  # FAISS's and xsearch's BLAS/LAPACK: OpenBLAS built for OpenMP (LibTorch's threads are OpenMP's), and
  # its Fortran runtime (OpenMP itself, libgomp, is the machine's GCC's)
  libopenblas0-openmp libgfortran5 libquadmath0
  # the encoders the tests' ffmpeg command lines use (linked by the FFmpeg built below)
  libx264-164 libx265-199 libnuma1 libvpx7 libaom3 libmp3lame0
  # programs the tests run: sqlite3; pkg-config for CMake (pkgconf)
  sqlite3 libreadline8 libtinfo6 pkgconf-bin libpkgconf3
)
# Only needed here, to build FFmpeg, PostgreSQL and libcurl (never bundled unless listed above).
build_debs=(nasm patchelf libx264-dev libx265-dev libnuma-dev libvpx-dev libaom-dev libmp3lame-dev)
# Sonames the GPU machine has itself (glibc, GCC's runtime and OpenMP): never bundled.
system_sonames="libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 libutil.so.1 libmvec.so.1
  ld-linux-x86-64.so.2 libstdc++.so.6 libgcc_s.so.1 libgomp.so.1"

# FFmpeg: the components the tests' ffmpeg/ffprobe command lines (tests/*.cpp, *.hpp) and xsearch's own code
# (src/video, src/media) use, plus the common formats a user's videos come in. Everything else is off
# (--disable-everything, --disable-autodetect): that is what drops ICU, codec2, librsvg, SDL, VA-API, ...
ffmpeg_decoders=h264,hevc,vp8,vp9,libaom_av1,mpeg4,mpeg1video,mpeg2video,h263,h263p,msmpeg4v1,msmpeg4v2,msmpeg4v3,mjpeg,png,apng,gif,bmp,webp,ffv1,rawvideo,prores,theora,vp6,vp6f,flv,wmv1,wmv2,wrapped_avframe,aac,aac_latm,mp3,mp3float,mp2,mp2float,opus,vorbis,flac,alac,ac3,pcm_s16le,pcm_s16be,pcm_s24le,pcm_s32le,pcm_f32le,pcm_u8,pcm_alaw,pcm_mulaw
ffmpeg_encoders=libx264,libx265,libvpx_vp8,libvpx_vp9,libaom_av1,mpeg4,mpeg2video,mjpeg,png,gif,ffv1,rawvideo,wrapped_avframe,aac,libmp3lame,pcm_s16le,flac
ffmpeg_demuxers=mov,matroska,avi,mpegts,mpegps,flv,ogg,mp3,aac,wav,flac,image2,image_png_pipe,image_jpeg_pipe,image_bmp_pipe,image_webp_pipe,gif,h264,hevc,m4v,mjpeg,rawvideo,ivf,nut,asf,yuv4mpegpipe,mpegvideo,obu,concat,ac3,w64
ffmpeg_muxers=gif,mp4,mov,ipod,matroska,webm,avi,mpegts,image2,rawvideo,null,mp3,adts,wav,flac,ogg,nut,framemd5,md5,framecrc,crc,h264,hevc,ivf,yuv4mpegpipe
ffmpeg_filters=buffer,buffersink,abuffer,abuffersink,format,aformat,scale,aresample,null,anull,copy,setpts,asetpts,setsar,setdar,hstack,vstack,geq,crop,drawbox,pad,trim,atrim,fps,transpose,hflip,vflip,rotate,settb,asettb,split,asplit,testsrc,testsrc2,smptebars,smptehdbars,color,nullsrc,rgbtestsrc,sine,anullsrc,concat,overlay,fifo,afifo,apad,volume,select,aselect,showinfo,framerate,tpad,scale2ref,colorspace,life,cellauto,mandelbrot,noise
ffmpeg_configure=(
  --prefix=/usr --libdir=/usr/lib/$ma --shlibdir=/usr/lib/$ma --incdir=/usr/include
  --enable-shared --disable-static --enable-gpl --disable-doc --disable-autodetect --disable-network
  --disable-ffplay --disable-postproc --disable-everything --enable-zlib
  --enable-libx264 --enable-libx265 --enable-libvpx --enable-libaom --enable-libmp3lame
  --enable-decoder=$ffmpeg_decoders --enable-encoder=$ffmpeg_encoders --enable-demuxer=$ffmpeg_demuxers
  --enable-muxer=$ffmpeg_muxers --enable-parsers --enable-bsfs --enable-protocol=file,pipe --enable-indev=lavfi
  --enable-filter=$ffmpeg_filters
)
# PostgreSQL: Debian's layout (binaries in /usr/lib/postgresql/15/bin, data in /usr/share/postgresql/15), so
# that the server finds its share and lib folders relative to itself wherever the bundle is unpacked. The
# time zone data is the system's (/usr/share/zoneinfo); without it the server runs in UTC.
postgres_configure=(
  --prefix=/usr --bindir=/usr/lib/postgresql/15/bin --datadir=/usr/share/postgresql/15 --libdir=/usr/lib/$ma
  --includedir=/usr/include/postgresql --sysconfdir=/etc/postgresql-common --disable-rpath --disable-nls
  --without-icu --without-readline --without-zlib --without-openssl --without-gssapi --without-ldap --without-pam
  --without-systemd --without-selinux --without-libxml --without-llvm --without-lz4 --without-zstd
  --with-system-tzdata=/usr/share/zoneinfo
)
postgres_dirs=(src/port src/common src/backend src/backend/snowball src/pl/plpgsql src/interfaces/libpq src/bin/initdb
               src/bin/pg_ctl src/include)
# libcurl: Debian's configuration less the libraries that pull in GnuTLS, LDAP and Kerberos (IDN, PSL, RTMP,
# SSH, HTTP/2, GSS-API, LDAP, brotli, zstd); symbols versioned CURL_OPENSSL_4 like Debian's libcurl4.
curl_configure=(
  --prefix=/usr --libdir=/usr/lib/$ma --disable-static --enable-shared --disable-manual --enable-versioned-symbols
  --without-brotli --without-zstd --without-libidn2 --without-libpsl --without-librtmp --without-libssh2
  --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-gssapi --disable-ldap --disable-ldaps
  --without-ca-bundle --without-ca-path
)

die() { echo "gpu-check: $*" >&2; exit 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Phases with their times, and PASS/FAIL/SKIP records (--full and --model-only).
phases=()
phase_t0=""
phase_name=""
phase() {  # ends the current phase (if any) and starts $1 (if given)
  if [ -n "$phase_name" ]; then
    local dt
    dt=$(since "$phase_t0")
    phases+=("$(printf '%-28s %7s s' "$phase_name" "$dt")")
    echo "== $phase_name: ${dt} s"
  fi
  phase_name=${1:-}
  phase_t0=$(now)
  if [ -n "$phase_name" ]; then echo "== $phase_name"; fi
}
results=()
failed=0
record() {  # STATUS NAME DETAIL
  results+=("$(printf '%-4s %s: %s' "$1" "$2" "$3")")
  echo "$1 $2: $3"
  if [ "$1" = FAIL ]; then failed=1; fi
}

# Points the .pc files under $1 at $1 itself (Debian's say prefix=/usr): --prepare for its build root,
# --full for the unpacked bundle.
relocate_pc() {
  local root=$1 f
  for f in "$root"/usr/lib/$ma/pkgconfig/*.pc "$root"/usr/share/pkgconfig/*.pc; do
    [ -f "$f" ] || continue
    sed -i -e "s|^prefix=/usr\$|prefix=$root/usr|" -e "s|=/usr/|=$root/usr/|" \
      -e "s| -I/usr/| -I$root/usr/|g" -e "s| -L/usr/| -L$root/usr/|g" "$f"
  done
}
