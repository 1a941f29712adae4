#!/usr/bin/env bash
# Numbers for the README's "serve" section: thumbnail bytes per clip and time to make one, query latency
# through the API and through a fresh `xsearch query`, and how long a rendition takes. Uses a random
# base-patch32 checkpoint (the real model's sizes; build/bench-random-b32, as scripts/bench-query.sh makes
# it) on five videos, 640x360 to 1920x1080: H.264 in MP4, and HEVC in Matroska and MPEG-4 Part 2 in AVI
# made from the 640x360 fixture (natural pictures). Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
[ -x "$build/xsearch-media" ] || scripts/build.sh
model=$build/bench-random-b32
[ -f "$model/model.safetensors" ] || "$build/xsearch-bench-model" --model "$model" --batches 1 --iters 1 >/dev/null
for f in vocab.json merges.txt tokenizer_config.json special_tokens_map.json preprocessor_config.json; do
  [ -f "$model/$f" ] || cp "tests/fixtures/xclip-tiny-full/$f" "$model/"
done
work=$build/bench-serve
rm -rf "$work"
mkdir -p "$work/videos"
v=$work/videos
ff() { ffmpeg -nostdin -y -loglevel error "$@"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
median_ms() { python3 -c "import statistics, sys; v = [float(x) for x in sys.argv[1:]]; print(f'{statistics.median(v) * 1000:.1f}')" "$@"; }

cp tests/fixtures/video/visible-640x360-h264.mp4 "$v/visible-640x360.mp4"
ff -f lavfi -i mandelbrot=size=1280x720:rate=30 -t 30 -c:v libx264 -preset fast -pix_fmt yuv420p "$v/mandelbrot-1280x720.mp4"
ff -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 20 -c:v libx264 -preset fast -pix_fmt yuv420p "$v/testsrc2-1920x1080.mp4"
ff -stream_loop 2 -i "$v/visible-640x360.mp4" -c:v mpeg4 -q:v 3 "$v/visible-640x360-mpeg4.avi"
ff -stream_loop 1 -i "$v/visible-640x360.mp4" -vf scale=1280:720 -c:v libx265 -preset fast -x265-params log-level=error \
  "$v/visible-1280x720-hevc.mkv"

db=$work/lib.db
t=$(now)
"$build/xsearch" ingest "$v" --db "$db" --model "$model" --quiet
clips=$("$build/xsearch" info --db "$db" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["clips"])')
echo "ingest: $(since "$t") s, $clips clips"

text="a dog running on the beach"
q=$(python3 -c "import urllib.parse, sys; print(urllib.parse.quote(sys.argv[1]))" "$text")
cli=()
for _ in 1 2 3 4 5; do
  t=$(now)
  "$build/xsearch" query "$text" --db "$db" >/dev/null
  cli+=("$(since "$t")")
done

"$build/xsearch" serve --db "$db" --port 0 >"$work/serve.out" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q http "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*/' "$work/serve.out")
api=()
for _ in 1 2 3 4 5; do api+=("$(curl -s -o "$work/q.json" -w '%{time_total}' "${url}api/query?q=$q&k=24")"); done
echo "query: a fresh \`xsearch query\`: median $(median_ms "${cli[@]}") ms of 5; /api/query?k=24: median $(median_ms "${api[@]}") ms of 5 (first $(median_ms "${api[0]}") ms)"

# Thumbnails through the API: the first request makes one (decoding from the keyframe before the clip's
# middle), the second comes from the cache.
python3 -c 'import json, sys; [print(h["thumbnail"]) for h in json.load(sys.stdin)["results"]]' <"$work/q.json" >"$work/thumbs.txt"
made=()
cached=()
while read -r u; do made+=("$(curl -s -o /dev/null -w '%{time_total}' "$url${u#/}")"); done <"$work/thumbs.txt"
while read -r u; do cached+=("$(curl -s -o /dev/null -w '%{time_total}' "$url${u#/}")"); done <"$work/thumbs.txt"
echo "thumbnails via the API: first request median $(median_ms "${made[@]}") ms (${#made[@]} hits), from the cache median $(median_ms "${cached[@]}") ms"

# Every clip's thumbnail (one decoding pass per video), and their size.
t=$(now)
n=$("$build/xsearch" thumbnails --all --db "$db" | wc -l)
secs=$(since "$t")
bytes=$(find "$db.thumbs" -name '*.jpg' -printf '%s\n' | awk '{s += $1} END {print s}')
python3 -c '
import sys
n, size, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
print(f"thumbnails --all: {n} clips in {secs:.1f} s; {size / n / 1000:.1f} kB per clip on average, so {size / n * 1e6 / 1e9:.1f} GB at 1M clips")
' "$n" "$bytes" "$secs"

# Renditions: each hit that needs one, first request (made) and second (cached).
python3 -c '
import json, sys
for h in json.load(sys.stdin)["results"]:
    if h["play"]["rendition"]:
        print(h["play"]["url"], h["path"], round(h["play"]["end"] - h["play"]["start"], 3))
' <"$work/q.json" | while read -r rendition path length; do
  first=$(curl -s -o "$work/r.bin" -w '%{time_total}' "$url${rendition#/}")
  again=$(curl -s -o /dev/null -w '%{time_total}' "$url${rendition#/}")
  echo "rendition of $(basename "$path"), ${length} s: ${first} s to make ($(stat -c %s "$work/r.bin") bytes), ${again} s from the cache"
done
