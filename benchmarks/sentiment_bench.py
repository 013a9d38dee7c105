"""Throughput of the shipped sentiment classifier's raw predict vs VADER, on one core, and
of the whole command as a user runs it: ``mentionwatch sentiment`` reading stdin (one
process: start-up, language detection, focus, JSON out), for each engine.

Prints texts/s for each and the ratio; no assertions. Texts are synthetic tweet-length posts
(built from a fixed vocabulary with a fixed seed), so no dataset is needed:

    python benchmarks/sentiment_bench.py [--n 5000] [--lang en] [--file TEXTS]

``--file`` takes real posts instead: one text a line, or JSON lines with a "text" field.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mentionwatch.analysis.classifier import load_model

_PHRASES = (
    "the flight was delayed again and nobody at the desk could help us with our bags "
    "still waiting for my refund thanks for nothing love the new update great service "
    "app keeps crashing after update customer support on hold for hours never again "
    "delivery arrived early really happy with the order what time does the store open "
    "@brand fix this please #fail :( :) !! ?? http://t.co/abc123 3 hours 45 minutes "
    "not bad at all actually impressed worst experience ever so disappointed brilliant "
    "i can't believe they lost my luggage again but the staff were lovely",
)
_WORDS = " ".join(_PHRASES).split()


def make_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(_WORDS, k=rng.randint(6, 28))) for _ in range(n)]


def read_texts(path: Path, n: int) -> list[str]:
    texts: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            texts.append(str(json.loads(line)["text"]) if line.startswith("{") else line)
    return texts[:n]


def rate(fn: Callable[[str], object], texts: Sequence[str], repeat: int = 3) -> float:
    """Best-of-``repeat`` texts per second (best run: least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for text in texts:
            fn(text)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def _run_cli(lines: Sequence[str], engine: str) -> float:
    data = ("\n".join(lines) + "\n").encode()
    cmd = [sys.executable, "-m", "mentionwatch", "sentiment", "--engine", engine]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, input=data, capture_output=True, check=True)
    took = time.perf_counter() - t0
    assert done.stdout.count(b"\n") == len(lines)
    return took


def cli_rate(texts: Sequence[str], engine: str) -> tuple[float, float, float]:
    """``mentionwatch sentiment --engine ENGINE`` on stdin, one process (one core):
    (texts/s start-up included, texts/s once started, start-up seconds), best of two."""
    startup = min(_run_cli(texts[:1], engine) for _ in range(2))
    total = min(_run_cli(texts, engine) for _ in range(2))
    return len(texts) / total, len(texts) / max(total - startup, 1e-9), startup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="number of texts")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--file", type=Path, help="real texts to use instead of synthetic ones")
    args = ap.parse_args()
    texts = read_texts(args.file, args.n) if args.file else make_texts(args.n)
    print(f"{len(texts)} texts, mean {sum(map(len, texts)) / len(texts):.0f} chars")

    t0 = time.perf_counter()
    model = load_model(args.lang)
    if model is None:
        raise SystemExit(f"no shipped model for {args.lang!r}")
    print(f"model load: {(time.perf_counter() - t0) * 1000:.0f} ms, {len(model)} features")

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    ours = rate(model.predict, texts)
    theirs = rate(vader.polarity_scores, texts)
    print(f"classifier[{args.lang}] predict: {ours:10,.0f} texts/s")
    print(f"VADER polarity_scores:   {theirs:10,.0f} texts/s")
    print(f"ratio classifier/VADER:  {ours / theirs:10.1f}x")

    # The command end to end, on 4x the texts so start-up (~1.5 s) weighs less.
    many = list(texts) * 4
    for engine in ("model", "vader"):
        overall, steady, startup = cli_rate(many, engine)
        print(
            f"mentionwatch sentiment --engine {engine} < {len(many)} lines: "
            f"{overall:8,.0f} texts/s overall, {steady:8,.0f} texts/s after a "
            f"{startup:.2f} s start-up"
        )


if __name__ == "__main__":
    main()
