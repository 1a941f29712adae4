#!/usr/bin/env python3
"""Writes tests/golden/bpe_repeats.jsonl: token ids for words with runs of one character ("goooooal",
"!!!!!!!!"), where one pair occurs several times in a word and BPE must merge the leftmost occurrence
first. No line of the reference goldens (tests/fixtures/tokenizer/goldens.jsonl) has such a run.

The reference tokenizer is not installable here (no `transformers`/`tokenizers` in Debian 12), so this
script implements the reference's BPE rule independently of our C++ code, in plain Python: take the pair of
adjacent symbols with the lowest merge rank; merge every occurrence of it in one left-to-right pass, never
overlapping; repeat. This is the rule of OpenAI CLIP's tokenizer and of the Hugging Face slow
CLIPTokenizer (the fast one gives the same tokens). The script first proves itself on every ASCII line of
the reference goldens (it must reproduce the reference ids exactly), then writes the new lines. Only ASCII
letters and punctuation are handled: that is all the texts below need.

  /usr/bin/python3 scripts/make-bpe-repeat-goldens.py
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOK = ROOT / "tests" / "fixtures" / "tokenizer"
OUT = ROOT / "tests" / "golden" / "bpe_repeats.jsonl"
BOS, EOS = 49406, 49407

TEXTS = [
    "aaaa", "aaa", "aaaaa", "aaab", "baaa", "aaaab", "goooooal", "gooooooal", "goal!!!!!!!!", "!!!!!!!!",
    "!!!", "?!?!?!", "......", "hmmmmm", "zzzzzzz", "yesssss", "nooooooo", "woooooooow", "lololol",
    "abababab", "mississippi", "bookkeeper", "llllll", "eeeeeeeeee", "ooooo ooo oo o", "#####", "--->",
]


def bpe(word, ranks):
    symbols = list(word[:-1]) + [word[-1] + "</w>"]
    while len(symbols) > 1:
        pairs = {(symbols[i], symbols[i + 1]) for i in range(len(symbols) - 1)}
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


def encode(text, vocab, ranks):
    text = " ".join(text.split()).lower()
    ids = [BOS]
    # The CLIP split pattern restricted to ASCII: contractions, letter runs, single digits, other runs.
    for word in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+", text):
        ids.extend(vocab[s] for s in bpe(word, ranks))
    return ids + [EOS]


def main():
    vocab = json.loads((TOK / "vocab.json").read_text(encoding="utf-8"))
    lines = (TOK / "merges.txt").read_text(encoding="utf-8").split("\n")
    merges = [tuple(l.split()) for l in lines[1:] if l.strip()]
    ranks = {m: r for r, m in enumerate(merges)}
    checked = 0
    for line in (TOK / "goldens.jsonl").read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        g = json.loads(line)
        t = g["text"]
        if not t.isascii() or not t.isprintable() or "<|" in t or len(g["ids"]) >= 77:
            continue
        got = encode(t, vocab, ranks)
        if got != g["ids"]:
            sys.exit(f"make-bpe-repeat-goldens: differs from the reference on {t!r}: {got} != {g['ids']}")
        checked += 1
    if checked < 20:
        sys.exit(f"make-bpe-repeat-goldens: only {checked} reference lines to check against")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        for t in TEXTS:
            f.write(json.dumps({"text": t, "ids": encode(t, vocab, ranks)}) + "\n")
    print(f"make-bpe-repeat-goldens: reproduced {checked} reference lines; wrote {len(TEXTS)} lines to {OUT}")


if __name__ == "__main__":
    main()
