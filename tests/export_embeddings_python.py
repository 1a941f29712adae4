#!/usr/bin/python3
"""export --embeddings read by Python (issue 24): numpy loads embeddings.npy and Debian's python3-faiss
loads index.faiss, and both give `xsearch query --json`'s top 10 for a text, searched with the vector that
`query --vector-out` wrote. The library is made by `xsearch ingest` of a few FFmpeg test videos with the
tiny fixture model; once more above the exact limit (IVF, float16 codes).

Usage: export_embeddings_python.py XSEARCH MODEL_DIR   (run by CTest as export_embeddings_python)
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import faiss
import numpy as np

XSEARCH, MODEL = sys.argv[1], sys.argv[2]
TEXT = "a bright pattern moving"
# Moving test sources only: a still picture gives clips with equal vectors, whose order is a tie.
SOURCES = ["testsrc", "testsrc2", "mandelbrot", "life=seed=7:mold=10:ratio=0.3", "cellauto=rule=110", "life=seed=3:ratio=0.6"]


def xsearch(*args, env=None):
    r = subprocess.run([XSEARCH, *args], capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        sys.exit(f"xsearch {' '.join(args)} exited {r.returncode}:\n{r.stderr}")
    return r.stdout


def query_top10(db, vector_file):
    # --max-segment below the clip length: every hit is one clip, so the hits are the 10 best clips.
    out = json.loads(xsearch("query", TEXT, "-k", "10", "--max-segment", "0.5", "--no-thumbnails", "--json",
                             "--vector-out", vector_file, "--db", db, "--model", MODEL))
    return [hit["peak_clip_id"] for hit in out["results"]]


def check_export(folder, top, q, kind):
    meta = json.load(open(os.path.join(folder, "meta.json")))
    emb = np.load(os.path.join(folder, "embeddings.npy"))
    assert emb.dtype == np.dtype("<f4") and emb.flags["C_CONTIGUOUS"], emb.dtype
    assert emb.shape == (meta["clips"], meta["model"]["dim"]), (emb.shape, meta)
    assert meta["l2_normalised"] and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-3)
    with open(os.path.join(folder, "clips.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == emb.shape[0]
    clip_ids = np.array([int(r["clip_id"]) for r in rows])

    # numpy alone: scores are the rows' inner products with the query vector.
    by_numpy = clip_ids[np.argsort(-(emb @ q), kind="stable")[:10]].tolist()
    assert by_numpy == top, f"numpy {by_numpy} != query {top}"

    index = faiss.read_index(os.path.join(folder, "index.faiss"))
    assert type(index).__name__ == kind, type(index).__name__
    assert index.ntotal == emb.shape[0] and index.d == emb.shape[1]
    scores, labels = index.search(q.reshape(1, -1), 10)
    assert labels[0].tolist() == top, f"faiss {labels[0].tolist()} != query {top}"
    return meta


def main():
    with tempfile.TemporaryDirectory(prefix="xsearch-export-py-") as tmp:
        videos = os.path.join(tmp, "videos")
        os.makedirs(videos)
        for i, source in enumerate(SOURCES):
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source + (":" if "=" in source else "=") + "size=160x120:rate=8",
                            "-t", "12", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                            os.path.join(videos, f"v{i}, test.mp4")], check=True, timeout=120)
        db = os.path.join(tmp, "lib.db")
        xsearch("ingest", videos, "--db", db, "--model", MODEL, "--window", "2", "--stride", "2", "-q")
        vector_file = os.path.join(tmp, "q.npy")
        top = query_top10(db, vector_file)
        q = np.load(vector_file)
        assert q.dtype == np.dtype("<f4") and q.ndim == 1 and abs(np.linalg.norm(q) - 1) < 1e-4, (q.dtype, q.shape)
        assert len(top) == 10, top

        folder = os.path.join(tmp, "export")
        summary = json.loads(xsearch("export", "--embeddings", folder, "--json", "--db", db))
        assert summary["clips"] >= 30, summary
        check_export(folder, top, q, "IndexIDMap2")

        env = dict(os.environ, XSEARCH_EXACT_LIMIT="10")
        xsearch("export", "--embeddings", folder, "-q", "--db", db, env=env)
        meta = check_export(folder, top, q, "IndexIVFScalarQuantizer")
        assert meta["index"]["nlist"] > 1 and meta["index"]["nprobe"] == meta["index"]["nlist"], meta["index"]  # all lists here
    print(f"export_embeddings_python: numpy and faiss {faiss.__version__} give query's top 10: {top}")


if __name__ == "__main__":
    main()
