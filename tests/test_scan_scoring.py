"""Batch scoring in the scan: identical jobs scored once, the process pool gives the
same sentiments as in-process scoring, small batches never start a pool, and a broken
pool falls back to scoring in-process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mentionwatch import pipeline
from mentionwatch.analysis.sentiment import analyze_mention
from mentionwatch.models import Span

# Jobs are (title, text, spans into title + "\n" + text, language): no title here, so
# the text starts at 1.
ACME = (Span(1, 5, "Acme"),)
TEXTS: list[pipeline.Job] = [
    ("", "Acme support was wonderful and fast.", ACME, "en"),
    # Scored toward Acme only: the praise of Globex is someone else's.
    ("", "Acme broke my phone, terrible. Globex is lovely.", ACME, "en"),
    ("", "Acme shipped a release today.", ACME, None),
]


def test_small_batches_score_in_process_and_dedupe() -> None:
    scorer = pipeline.Scorer("vader", workers=2)
    batch = [TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[0]]
    scores = asyncio.run(scorer.score(batch))
    assert scorer._pool is None  # below POOL_MIN_BATCH: no workers started
    assert scorer.seen == 2  # each distinct snippet once
    assert set(scores) == {TEXTS[0], TEXTS[1]}
    assert scores[TEXTS[0]] == analyze_mention("", TEXTS[0][1], ACME, engine="vader", lang="en")
    assert scores[TEXTS[1]].label == "negative"


def test_pool_scores_like_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "POOL_MIN_BATCH", 2)
    monkeypatch.setattr(pipeline, "POOL_MIN_TOTAL", 0)
    batch = [
        (f"Post {i}", t, (Span(len(f"Post {i}") + 1, len(f"Post {i}") + 5, "Acme"),), lang)
        for i in range(20)
        for _, t, _, lang in TEXTS
    ]
    scorer = pipeline.Scorer("vader", workers=2)
    try:
        pooled = asyncio.run(scorer.score(batch))
        assert scorer._pool is not None  # the batch really went to the workers
    finally:
        scorer.close()
    expected = dict(zip(batch, pipeline.score_jobs(batch, "vader"), strict=True))
    assert pooled == expected
    assert {"positive", "negative"} <= {s.label for s in pooled.values()}


def test_one_worker_never_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "POOL_MIN_BATCH", 1)
    monkeypatch.setattr(pipeline, "POOL_MIN_TOTAL", 0)
    scorer = pipeline.Scorer("vader", workers=1)
    scores = asyncio.run(scorer.score(TEXTS))
    assert scorer._pool is None
    assert len(scores) == 3


def test_a_broken_pool_falls_back_to_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "POOL_MIN_BATCH", 1)
    monkeypatch.setattr(pipeline, "POOL_MIN_TOTAL", 0)
    scorer = pipeline.Scorer("vader", workers=2)

    class Broken(pipeline.ProcessPoolExecutor):
        def submit(self, *args: object, **kwargs: object) -> Any:
            raise pipeline.BrokenProcessPool("a worker died")

    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", Broken)
    scores = asyncio.run(scorer.score(TEXTS))
    assert scores == dict(zip(TEXTS, pipeline.score_jobs(TEXTS, "vader"), strict=True))
    assert scorer.workers == 1  # no second try at a pool in this scan
    assert scorer._pool is None
