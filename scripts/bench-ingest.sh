#!/usr/bin/env bash
# Whole-pipeline ingest benchmark: for a folder of videos, `xsearch ingest --json` once per decoder count,
# reporting from each run
#   - end-to-end clips/s (model load included), and the model's own clips/s in the same run;
#   - decoded frames/s and the share of the files' frames decoded (selective decoding skips the rest);
#   - the decoders' and the model's busy seconds, and their shares of the wall time;
#   - the ratio to plain full decoding, `ffmpeg -threads $(nproc) -i F -f null -` over the same files, one
#     after another (above 1: the whole ingest is faster than FFmpeg only decoding every frame).
#
# Usage: scripts/bench-ingest.sh [VIDEO_FOLDER]
#   Without a folder: 8 videos of 6 s, 1080p30 H.264 (libx264 veryfast: B-frames and b-pyramid as the default
#   preset, quicker to make), made once under the build folder.
# Environment: XSEARCH_BUILD_DIR (default build), DECODERS (counts to compare, default "1 2"), MODEL (default
#   the tiny fixture model, so that decoding dominates), BATCH (default: xsearch's), EXTRA (more ingest flags).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
[ -x "$build/xsearch" ] || scripts/build.sh
model=${MODEL:-tests/fixtures/xclip-tiny-full}
decoders=${DECODERS:-1 2}
folder=${1:-}
if [ -z "$folder" ]; then
  folder=$build/bench-ingest-1080p
  mkdir -p "$folder"
  # testsrc2 (moving, detailed: a realistic bitrate), each file in other colours so that no two are the same
  # content (ingest would take a copy for a move).
  for i in 0 1 2 3 4 5 6 7; do
    f=$folder/v$i.mp4
    [ -f "$f" ] && continue
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=6" -vf "hue=h=$((i * 45))" \
      -c:v libx264 -preset veryfast -pix_fmt yuv420p "$f.part.mp4"
    mv "$f.part.mp4" "$f"
  done
fi
mapfile -t files < <(find "$folder" -type f \( -name '*.mp4' -o -name '*.mkv' -o -name '*.mov' -o -name '*.webm' \) | sort)
[ "${#files[@]}" -gt 0 ] || { echo "bench-ingest: $folder: no videos" >&2; exit 2; }

# Frames in the files (packets of the video stream: one per frame for these codecs).
frames=0
for f in "${files[@]}"; do
  n=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$f")
  frames=$((frames + n))
done

# Runs a command; prints its wall seconds and CPU seconds (user + system, its children included). On a
# machine that others keep busy the wall time says how much of the cores a run got; the CPU time says what
# the work costs.
timed() {
  python3 -c 'import os, resource, subprocess, sys, time
t = time.monotonic(); r = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "wb")); w = time.monotonic() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
if r.returncode not in (0, 3): sys.exit(r.returncode)
print(w, u.ru_utime + u.ru_stime)' "$@"
}
read -r ffmpeg_s ffmpeg_cpu < <(timed /dev/null bash -c 'for f; do ffmpeg -nostdin -loglevel error -threads "$(nproc)" -i "$f" -f null -; done' _ "${files[@]}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "folder: $folder (${#files[@]} files, $frames frames); model: $model; $(nproc) cores"
printf 'ffmpeg -threads %s -f null (every frame): %.2f s (%.2f s of CPU), %.0f frames/s\n' "$(nproc)" "$ffmpeg_s" "$ffmpeg_cpu" \
  "$(python3 -c "print($frames / $ffmpeg_s)")"
run=0
for n in $decoders; do
  run=$((run + 1))  # a fresh library each time (a count may be repeated, to interleave runs on a busy machine)
  # --normal-priority: the same CPU priority as the ffmpeg runs above (an ingest runs at nice +10).
  read -r wall cpu < <(timed "$work/out-$run.json" "$build/xsearch" ingest "$folder" --db "$work/lib-$run.db" --model "$model" --json \
    --normal-priority --decoders "$n" ${BATCH:+--batch "$BATCH"} ${EXTRA:-})
  python3 - "$work/out-$run.json" "$frames" "$ffmpeg_s" "$ffmpeg_cpu" "$cpu" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
frames, ffmpeg_s, ffmpeg_cpu, cpu = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
s, n = d["seconds"], d["decoders"]
print(f"--decoders {n} (batch {d['batch']}, {d['device']} {d['dtype']}): {d['clips']} clips of {d['indexed']} videos in {s:.2f} s")
print(f"  end to end   {d['clips'] / s:8.2f} clips/s   model alone {d['model_clips_per_second']:8.2f} clips/s")
print(f"  decoded      {d['frames_decoded'] / s:8.1f} frames/s, {d['frames_decoded']} of {frames} frames ({100 * d['frames_decoded'] / frames:.1f}%)")
print(f"  busy         decoders {d['decode_seconds']:.2f} s ({100 * d['decode_seconds'] / (n * s):.0f}% of {n} x wall), "
      f"model {d['model_seconds']:.2f} s ({100 * d['model_seconds'] / s:.0f}% of wall), "
      f"{d['backlog_waits']} waits for a long video's turn")
print(f"  vs ffmpeg    {ffmpeg_s / s:.2f}x the speed of ffmpeg's full decoding ({ffmpeg_s:.2f} s); "
      f"CPU {cpu:.2f} s, {cpu / ffmpeg_cpu:.2f}x ffmpeg's ({cpu / d['clips']:.2f} s per clip)")
EOF
done
