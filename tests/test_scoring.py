"""Batch scoring in the scan (``analysis.scoring``): identical jobs scored once, the
process pool gives the same sentiments as in-process scoring, batches wait while the scan
is undecided and are scored in-process when it stays small, once pooled nothing is scored
in the scan's own process, and a broken pool falls back to scoring in-process. Then, through
a real scan: many sources with few mentions each and one fetch at a time finish (held
batches never block the fetches they wait on)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch import pipeline
from mentionwatch.analysis import scoring
from mentionwatch.analysis.scoring import Job, Scorer, score_jobs
from mentionwatch.analysis.sentiment import analyze_mention
from mentionwatch.configure import parse_config
from mentionwatch.models import Sentiment, Span
from mentionwatch.store import db as store

from .conftest import rss

# Jobs are (title, text, spans into title + "\n" + text, language): no title here, so
# the text starts at 1.
ACME = (Span(1, 5, "Acme"),)
TEXTS: list[Job] = [
    ("", "Acme support was wonderful and fast.", ACME, "en"),
    # Scored toward Acme only: the praise of Globex is someone else's.
    ("", "Acme broke my phone, terrible. Globex is lovely.", ACME, "en"),
    ("", "Acme shipped a release today.", ACME, None),
]


def _batch(n: int, tag: str = "Post") -> list[Job]:
    return [
        (f"{tag} {i}", t, (Span(len(f"{tag} {i}") + 1, len(f"{tag} {i}") + 5, "Acme"),), lang)
        for i in range(n)
        for _, t, _, lang in TEXTS
    ]


def _expected(jobs: list[Job]) -> dict[Job, Sentiment]:
    return dict(zip(jobs, score_jobs(jobs, "vader"), strict=True))


def test_a_batch_is_deduplicated_and_scored_like_analyze_mention() -> None:
    scorer = Scorer("vader", workers=2, hold=1)  # hold 1: score at once, in-process
    batch = [TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[0]]
    scores = asyncio.run(scorer.score(batch))
    assert not scorer.pooled
    assert scorer.seen == 2
    assert scorer.in_process == 2
    assert set(scores) == {TEXTS[0], TEXTS[1]}
    assert scores[TEXTS[0]] == analyze_mention("", TEXTS[0][1], ACME, engine="vader", lang="en")
    assert scores[TEXTS[1]].label == "negative"


def test_batches_wait_while_undecided_and_drain_scores_them_here() -> None:
    first, second = _batch(2, "A"), _batch(2, "B")

    async def run() -> tuple[bool, dict[Job, Sentiment], dict[Job, Sentiment], Scorer]:
        scorer = Scorer("vader", workers=2, pool_after=1000, hold=16)
        a = asyncio.create_task(scorer.score(first))
        b = asyncio.create_task(scorer.score(second))
        await asyncio.sleep(0.05)
        waited = not a.done() and not b.done()
        scorer.drain()
        late = await scorer.score(_batch(1, "C"))  # after drain: scored at once
        assert late
        return waited, await a, await b, scorer

    waited, a, b, scorer = asyncio.run(run())
    assert waited  # neither batch was scored before the scan said it was done
    assert a == _expected(first)
    assert b == _expected(second)
    assert not scorer.pooled
    assert scorer.in_process == 6 + 6 + 3


def test_the_hold_limit_scores_in_process_without_drain() -> None:
    async def run() -> Scorer:
        scorer = Scorer("vader", workers=2, pool_after=1000, hold=2)
        got = await asyncio.gather(scorer.score(_batch(1, "A")), scorer.score(_batch(1, "B")))
        assert [len(g) for g in got] == [3, 3]
        return scorer

    scorer = asyncio.run(run())
    assert not scorer.pooled
    assert scorer.in_process == 6


@pytest.mark.parametrize(("left", "pooled"), [(0, False), (500, True)])
def test_at_the_hold_limit_the_sources_to_come_decide(left: int, pooled: bool) -> None:
    # Two batches of 3 jobs reach hold=2 with 6 jobs seen, far below pool_after=100: a
    # scan with nothing left scores them here; one with 500 sources to come (at 3 jobs
    # each) will plainly need the pool, so it starts now rather than load the engine here.
    async def run() -> Scorer:
        scorer = Scorer("vader", workers=1, pool_after=100, hold=2, batches_left=lambda: left)
        try:
            got = await asyncio.gather(scorer.score(_batch(1, "A")), scorer.score(_batch(1, "B")))
            assert [len(g) for g in got] == [3, 3]
        finally:
            scorer.close()
        return scorer

    scorer = asyncio.run(run())
    assert scorer.sends == (1 if pooled else 0)
    assert scorer.in_process == (0 if pooled else 6)


def test_once_pooled_the_scans_process_scores_nothing() -> None:
    first, second = _batch(3, "A"), _batch(30, "B")

    async def run() -> tuple[dict[Job, Sentiment], dict[Job, Sentiment], Scorer]:
        scorer = Scorer("vader", workers=2, pool_after=20, hold=16)
        try:
            # The first batch (9 jobs) waits; the second crosses pool_after and both go.
            a, b = await asyncio.gather(scorer.score(first), scorer.score(second))
            assert scorer.pooled
            assert scorer.sends == 1  # the two batches went in one send
            c = await scorer.score(first[:2])  # a small batch after: to the pool as well
            assert scorer.sends == 2
            assert c == {j: a[j] for j in first[:2]}
        finally:
            scorer.close()
        return a, b, scorer

    a, b, scorer = asyncio.run(run())
    assert scorer.in_process == 0
    assert a == _expected(first)
    assert b == _expected(second)
    assert {"positive", "negative"} <= {s.label for s in b.values()}


def test_no_workers_never_pools() -> None:
    # What a one-core machine gets: its one core is the scan's.
    scorer = Scorer("vader", workers=0, pool_after=0)
    scores = asyncio.run(scorer.score(TEXTS))
    assert not scorer.pooled
    assert scores == _expected(TEXTS)


def test_a_broken_pool_falls_back_to_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(scoring.ProcessPoolExecutor):
        def submit(self, *args: object, **kwargs: object) -> Any:
            raise scoring.BrokenProcessPool("a worker died")

    monkeypatch.setattr(scoring, "ProcessPoolExecutor", Broken)
    scorer = Scorer("vader", workers=2, pool_after=0)
    scores = asyncio.run(scorer.score(TEXTS))
    assert scores == _expected(TEXTS)
    assert scorer.workers == 0  # no second try at a pool in this scan
    assert not scorer.pooled


def test_many_sparse_sources_one_fetch_at_a_time(httpserver: HTTPServer, tmp_path: Path) -> None:
    # concurrency 1: 4 sources in flight at most, so held batches (one per source with a
    # mention) must be scored before they fill every slot, or the scan would never end.
    n = 40
    for i in range(n):
        items = [(f"x{i}", f"https://n.example/{i}", f"Acme post {i}|Acme is lovely, number {i}.")]
        items += [(f"y{i}", f"https://n.example/q{i}", "Weather|Rain again.")]
        httpserver.expect_request(f"/f{i}.xml").respond_with_data(
            rss(*items), content_type="application/rss+xml"
        )
    sources = "\n".join(
        f'  - {{name: f{i}, url: "{httpserver.url_for(f"/f{i}.xml")}"}}' for i in range(n)
    )
    config = parse_config(
        "settings: {concurrency: 1, sentiment: vader}\n"
        f"brands: [{{name: Acme, keywords: [Acme]}}]\nsources:\n{sources}\n",
        filename="t.yaml",
    )
    db = store.open_db(tmp_path / "m.db")
    report = pipeline.scan(config, db)
    assert [s.status for s in report.sources] == ["ok"] * n
    assert len(report.new_mention_ids) == n == db["mentions"].count
    labels = {r[0] for r in db.execute("SELECT sentiment_label FROM mentions")}
    assert labels == {"positive"}
