#!/usr/bin/env bash
# Video benchmark on an H.264 file: our sampled frames/s and clips/s against the ffmpeg CLI doing the
# equivalent work, then full against selective decoding for the same targets (frames decoded, time)
# against `ffmpeg -threads 1` with and without `-skip_frame noref`, all in the same run.
#   scripts/bench-video.sh [720p | 1080p | VIDEO] [WINDOW_SECONDS] [NUM_FRAMES]
# 720p (the default): 120 s of 1280x720, 30 fps, x264 preset fast, a keyframe every 2 s.
# 1080p: 20 s of 1920x1080, 30 fps, x264's defaults (preset medium, 3 B frames, normal pyramid).
# Both are made once with ffmpeg's testsrc2 into the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
[ -x "$build/xsearch-bench-video" ] || scripts/build.sh
make_video() {  # FILE SIZE DURATION X264-ARGS...
  local file=$1 size=$2 duration=$3
  shift 3
  [ -f "$file" ] || ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=$size:rate=30:duration=$duration" \
    -c:v libx264 "$@" -pix_fmt yuv420p "$file"
}
case "${1:-720p}" in
  720p) video=$build/bench-720p-h264.mp4; make_video "$video" 1280x720 120 -preset fast -g 60 ;;
  1080p) video=$build/bench-1080p30-h264.mp4; make_video "$video" 1920x1080 20 ;;
  *) video=$1 ;;
esac
exec "$build/xsearch-bench-video" "$video" "${@:2}"
