#!/usr/bin/env bash
# A query's latency while an ingest writes the library, against the same query on the idle library
# (issue 9: within 2x). A copy of the N-clip library of scripts/bench-query.sh (random base-patch32
# checkpoint, random embeddings) gets a few new videos from a real `xsearch ingest` with that model; fresh
# `xsearch query` processes run one after another before, during and after it. During the ingest the
# index file is older than the database: a query answers from it plus an exact scan of the clips
# committed since, and never writes.
#   scripts/bench-query-during-ingest.sh [CLIPS] [VIDEOS]     (default 100000 clips, 4 videos of 40 s)
# INGEST_WRAP="nice -n 10" or INGEST_ARGS="--threads 1" change how the ingest runs; OTHER_LIBRARY=1 makes
# it write a copy of the library instead (the same load on the cores, nothing stale for the query: what
# the cores cost apart from the library's state).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${XSEARCH_BUILD_DIR:-build}
n=${1:-100000}
videos=${2:-4}
xsearch=$build/xsearch
model=$build/bench-random-b32
base=$build/bench-libraries/lib-$n.db
[ -f "$base" ] || scripts/bench-query.sh "$n"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$base" "$work/lib.db"
cp "${base%.db}.index" "$work/lib.index"
mkdir -p "$work/videos"
for i in $(seq 1 "$videos"); do
  ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=640x360:rate=30" -t 40 -c:v libx264 -preset ultrafast \
    -pix_fmt yuv420p "$work/videos/v$i.mp4"
done

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# One fresh query process: its wall time in ms.
query_ms() {
  local t0 t1
  t0=$(now_ms)
  "$xsearch" query "people dancing at a wedding" --db "$work/lib.db" --model "$model" -k 10 >/dev/null
  t1=$(now_ms)
  echo $(( t1 - t0 ))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# `count` queries one after another: their times, one per line.
queries() { for _ in $(seq 1 "$1"); do query_ms; done; }

query_ms >/dev/null  # page cache
idle_before=$(queries 15 | median)

target=$work/lib.db
if [ -n "${OTHER_LIBRARY:-}" ]; then
  cp "$work/lib.db" "$work/other.db"
  cp "$work/lib.index" "$work/other.index"
  target=$work/other.db
fi
# shellcheck disable=SC2086
${INGEST_WRAP:-} "$xsearch" ingest "$work/videos" --db "$target" --model "$model" --quiet ${INGEST_ARGS:-} &
ingest=$!
sleep 3  # past the model load: walking, decoding, embedding, committing
: >"$work/during"
while kill -0 "$ingest" 2>/dev/null; do query_ms >>"$work/during"; done
wait "$ingest"
during=$(median <"$work/during")
idle_after=$(queries 15 | median)

generation_files=$(ls "$work" | grep -c '\.tmp$' || true)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "library: $n clips + $(( videos * 10 )) ingested ($videos videos of 40 s) into ${OTHER_LIBRARY:+a copy of }it, index $(du -h "$work/lib.index" | cut -f1)"
echo "ingest: ${INGEST_WRAP:-} xsearch ingest ${INGEST_ARGS:-}"
echo "fresh \`xsearch query\` process, median ms: idle before $idle_before, during the ingest $during ($(wc -l <"$work/during") queries), idle after $idle_after"
echo "during / idle: $(awk -v d="$during" -v a="$idle_before" -v b="$idle_after" 'BEGIN { printf "%.2f", d / ((a + b) / 2) }')"
echo "temporary index files left: $generation_files"
