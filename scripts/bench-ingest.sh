#!/usr/bin/env bash
# Ingest benchmark: end-to-end clips/s of `xsearch ingest` on a 720p H.264 file with a random checkpoint of
# base-patch32's layout, against the model alone (batch 8) in the same run. Decoding runs on its own
# thread: the closer the ratio is to 1, the better it hides behind the model.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
[ -x "$build/xsearch" ] && [ -x "$build/xsearch-bench-model" ] || scripts/build.sh
model=$build/bench-random-b32
[ -f "$model/model.safetensors" ] || "$build/xsearch-bench-model" --model "$model" --batches 1 --iters 1 >/dev/null
for f in vocab.json merges.txt tokenizer_config.json special_tokens_map.json preprocessor_config.json; do
  [ -f "$model/$f" ] || cp "tests/fixtures/xclip-tiny-full/$f" "$model/"
done
video=$build/bench-720p-h264.mp4
[ -f "$video" ] || ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=120 \
  -c:v libx264 -preset fast -g 60 -pix_fmt yuv420p "$video"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/videos"
ln -s "$(realpath "$video")" "$work/videos/clip.mp4"
echo "ingest (end to end, one 120 s 720p H.264 video = 30 clips):"
"$build/xsearch" ingest "$work/videos" --db "$work/lib.db" --model "$model" --json --batch 8 |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("  %.2f clips/s (%d clips in %.1f s, model load included)" % (d["clips_per_second"], d["clips"], d["seconds"]))'
echo "model alone:"
"$build/xsearch-bench-model" --model "$model" --batches 8 --iters 2 | grep -E "^8 |batch|machine"
