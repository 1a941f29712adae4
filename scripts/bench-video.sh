#!/usr/bin/env bash
# Video benchmark on a 720p H.264 file (made once with ffmpeg's testsrc2 when none is given): our sampled
# frames/s and clips/s against the ffmpeg CLI doing the equivalent work, in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
[ -x "$build/xsearch-bench-video" ] || scripts/build.sh
video=${1:-$build/bench-720p-h264.mp4}
if [ ! -f "$video" ]; then
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=120 \
    -c:v libx264 -preset fast -g 60 -pix_fmt yuv420p "$video"
fi
exec "$build/xsearch-bench-video" "$video" "${@:2}"
