"""One scan: fetch every source concurrently, match brands, score, store per source.

Scoring is the costliest step when most posts are mentions, so each source's distinct
scoring jobs are scored as one batch: in-process when the batch is small, in a process pool
on every core when it is large, while the event loop goes on fetching and storing."""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import sqlite_utils

from . import sources as adapters
from .analysis.matcher import Matcher, compile_brands
from .analysis.sentiment import analyze_mention
from .config.loader import Config
from .config.model import SourceConfig
from .errors import ConfigError, SourceError
from .models import (
    FetchResult,
    Match,
    RawItem,
    RunReport,
    Sentiment,
    SourceReport,
    SourceState,
    Span,
)
from .sources.http import make_client
from .store import db as store
from .timeutil import utcnow
from .webcare import policy

ProgressCallback = Callable[[SourceReport], None]

# Below this many distinct jobs a batch is scored in-process: shipping text to a worker
# and back costs more than scoring a few dozen posts.
POOL_MIN_BATCH = 64
# The pool starts only once a scan has seen this many jobs: starting workers (a
# fresh interpreter each, loading the engine) takes about a second, which a scan with
# a few hundred mentions would not win back.
POOL_MIN_TOTAL = 400
# Everything a mention's score depends on: title, text, the brand's spans (into title +
# "\n" + text), the source's language. Equal jobs (a post syndicated word for word) are
# scored once; which other brands are configured is deliberately not part of it.
Job = tuple[str, str, tuple[Span, ...], str | None]


def score_jobs(jobs: Sequence[Job], engine: str) -> list[Sentiment]:
    """Sentiment of each job through ``analyze_mention``: the same call as ``sentiment
    --target`` and ``rescore``, so all three agree.

    A module-level function of plain values, so a worker process can run it with any
    engine: the engine loads in the worker, never crosses a process boundary."""
    return [
        analyze_mention(title, text, spans, engine=engine, lang=lang)
        for title, text, spans, lang in jobs
    ]


class Scorer:
    """Scores batches of jobs, each distinct job once; large batches go to a
    process pool (started on first need) so scoring uses every core while the event
    loop keeps fetching. Close it to stop the workers."""

    def __init__(self, engine: str, *, workers: int | None = None) -> None:
        self.engine = engine
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self._pool: ProcessPoolExecutor | None = None
        self.seen = 0  # distinct jobs asked for so far: decides whether to pool

    def _use_pool(self, size: int) -> bool:
        if self.workers < 2 or size < POOL_MIN_BATCH:
            return False
        return self._pool is not None or self.seen >= POOL_MIN_TOTAL

    async def score(self, jobs: Sequence[Job]) -> dict[Job, Sentiment]:
        unique = list(dict.fromkeys(jobs))
        self.seen += len(unique)
        if not self._use_pool(len(unique)):
            return dict(zip(unique, score_jobs(unique, self.engine), strict=True))
        if self._pool is None:
            # spawn, not fork: forking a process whose event loop runs resolver threads
            # can copy a held lock into the child.
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        loop = asyncio.get_running_loop()
        # One chunk per worker, so a single large source still uses every core.
        size = -(-len(unique) // self.workers)
        chunks = [unique[i : i + size] for i in range(0, len(unique), size)]
        try:
            parts = await asyncio.gather(
                *(loop.run_in_executor(self._pool, score_jobs, c, self.engine) for c in chunks)
            )
        except (BrokenProcessPool, OSError):
            # A worker died (killed, out of memory) or none could start: score here
            # from now on rather than lose the run.
            self.close()
            self.workers = 1
            return dict(zip(unique, score_jobs(unique, self.engine), strict=True))
        return dict(zip(unique, [s for part in parts for s in part], strict=True))

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class _Outcome:
    config: SourceConfig
    result: FetchResult | None
    error: str | None
    seconds: float


def select_sources(config: Config, names: Sequence[str] = ()) -> tuple[SourceConfig, ...]:
    """The configured sources, or only those named (an unknown name is a usage error).

    A name given twice is one source: fetching it twice would only race with itself."""
    if not names:
        return config.sources
    by_name = {s.name: s for s in config.sources}
    chosen = []
    for name in dict.fromkeys(names):
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"--source: no source named {name!r}{hint}")
        chosen.append(by_name[name])
    return tuple(chosen)


def _host(src: SourceConfig) -> str:
    return urlsplit(src.url or src.base_url or "").hostname or src.type


async def _fetch_one(
    client: httpx.AsyncClient,
    src: SourceConfig,
    config: Config,
    state: SourceState,
    gate: asyncio.Semaphore,
    host_gate: asyncio.Semaphore,
) -> _Outcome:
    # Per host first: many feeds on one server wait their turn without holding
    # one of the global slots that other hosts could use.
    async with host_gate, gate:
        started = time.perf_counter()
        try:
            adapter = adapters.build(src, adapters.SourceContext(config.settings, config.brands))
            result = await adapter.fetch(client, state)
        except SourceError as exc:
            return _Outcome(src, None, str(exc), time.perf_counter() - started)
        except Exception as exc:  # one broken adapter must never sink the run
            message = f"internal error in the {src.type} adapter: {type(exc).__name__}: {exc}"
            return _Outcome(src, None, message, time.perf_counter() - started)
        return _Outcome(src, result, None, time.perf_counter() - started)


def _quiet_outcome(outcome: _Outcome) -> SourceReport | None:
    """The report of an outcome with nothing to store (an error or a 304), else None."""
    src = outcome.config
    if outcome.result is None:
        return SourceReport(
            src.name, src.type, "error", seconds=outcome.seconds, error=outcome.error
        )
    if outcome.result.not_modified:
        return SourceReport(
            src.name,
            src.type,
            "not-modified",
            seconds=outcome.seconds,
            warnings=outcome.result.warnings,
        )
    return None


def _clamp_published(item: RawItem, fetched: datetime) -> RawItem:
    """The item with a publish time no later than its fetch time. A date in the future
    (a wrong clock, a post dated ahead to sit on top) would stay at the top of every
    listing and inside every ``--since`` for ever; the claim itself is kept apart
    (posts.published_claimed). No date stays no date: the store marks it undated."""
    if item.published is not None and item.published > fetched:
        return dataclasses.replace(item, published=fetched)
    return item


@dataclass(slots=True)
class _Candidates:
    """One source's posts that name a brand and are not stored yet, with their scoring jobs."""

    outcome: _Outcome
    found: list[tuple[str, RawItem, Match, Job]]  # post id, item, match, scoring job
    # external id -> the later publish time a source claimed (clamped to the fetch time)
    claimed: dict[str, datetime]


def _candidates(db: sqlite_utils.Database, outcome: _Outcome, matcher: Matcher) -> _Candidates:
    src = outcome.config
    result = outcome.result
    assert result is not None
    matched: list[tuple[RawItem, Match, list[Match], str, str]] = []
    fetched = utcnow()
    claimed: dict[str, datetime] = {}
    for raw in result.items:
        item = _clamp_published(raw, fetched)
        if item is not raw and raw.published is not None:
            claimed[raw.external_id] = raw.published
        matches = [
            m
            for m in matcher.match(item.title, item.text)
            if not matcher.excluded(m.brand, src.name, item.author, item.url)
        ]
        if matches:
            item, matches = store.fit_text(item, matches)  # a match past the cap stays shown
            pid = store.post_key(src.name, item)
            matched.extend(
                (item, m, matches, pid, store.mention_key(pid, m.brand)) for m in matches
            )
    # Before any scoring: a post already stored costs a lookup, not a sentiment call.
    known = store.existing_mentions(db, [c[4] for c in matched])
    found: list[tuple[str, RawItem, Match, Job]] = []
    for item, match, _, pid, mid in matched:
        if mid in known:
            continue
        found.append((pid, item, match, (item.title, item.text, match.spans, item.lang)))
    return _Candidates(outcome, found, claimed)


def _store_candidates(
    db: sqlite_utils.Database,
    cands: _Candidates,
    scores: dict[Job, Sentiment],
    checker: policy.PolicyChecker,
) -> tuple[SourceReport, list[str]]:
    src = cands.outcome.config
    result = cands.outcome.result
    assert result is not None
    found = [
        store.NewMention(pid, item, match, scores[job], cands.claimed.get(item.external_id))
        for pid, item, match, job in cands.found
    ]
    report = SourceReport(
        src.name,
        src.type,
        "ok",
        items=len(result.items),
        seconds=cands.outcome.seconds,
        warnings=result.warnings,
    )
    new_ids = store.save_source_run(
        db,
        source=src.name,
        source_type=src.type,
        mentions=found,
        state=result.state,
        report=report,
        fetched=utcnow(),
    )
    # Policy flags right after the mentions, in their own transaction (save_source_run
    # has no hook inside its own); policy.catch_up covers a crash in between.
    policy.flag_mentions(db, checker, new_ids, now=utcnow())
    # A post seen by two sources is stored once; count only what was really new.
    return dataclasses.replace(report, new_mentions=len(new_ids)), new_ids


async def scan_async(
    config: Config,
    db: sqlite_utils.Database,
    *,
    only: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> RunReport:
    chosen = select_sources(config, only)
    matcher = compile_brands(config.brands)
    states = store.load_states(db)
    started = utcnow()
    checker = policy.PolicyChecker(config.policy)
    policy.catch_up(db, checker, now=started)
    reports: list[SourceReport] = []
    new_ids: list[str] = []
    gate = asyncio.Semaphore(config.settings.concurrency)
    per_host = min(config.settings.concurrency, config.settings.concurrency_per_host)
    host_gates = {host: asyncio.Semaphore(per_host) for host in map(_host, chosen)}
    async with make_client(config.settings) as client:
        tasks = [
            asyncio.create_task(
                _fetch_one(
                    client,
                    src,
                    config,
                    states.get(src.name, SourceState()),
                    gate,
                    host_gates[_host(src)],
                )
            )
            for src in chosen
        ]
        quiet: list[tuple[str, str, SourceState | None, SourceReport]] = []
        scorer = Scorer(config.settings.sentiment)

        def finish(report: SourceReport) -> None:
            reports.append(report)
            if progress is not None:
                progress(report)

        async def score_and_store(cands: _Candidates) -> None:
            scores = await scorer.score([c[3] for c in cands.found])
            # Stored as each source finishes: a crash later loses nothing stored here.
            report, ids = _store_candidates(db, cands, scores, checker)
            new_ids.extend(ids)
            finish(report)

        storing: list[asyncio.Task[None]] = []
        try:
            for next_done in asyncio.as_completed(tasks):
                outcome = await next_done
                report_or_none = _quiet_outcome(outcome)
                if report_or_none is None:
                    cands = _candidates(db, outcome, matcher)
                    # Scored while the loop goes on fetching and matching other sources.
                    storing.append(asyncio.create_task(score_and_store(cands)))
                    continue
                # No mentions to keep atomic with: written together at the end. An error
                # keeps the old state (None): nothing was stored, so nothing is skipped.
                state = outcome.result.state if outcome.result is not None else None
                quiet.append((report_or_none.name, report_or_none.type, state, report_or_none))
                finish(report_or_none)
            await asyncio.gather(*storing)
        finally:
            # After an error: stop what is left and wait for it, so nothing runs on
            # (or writes) after scan() has returned.
            for task in (*tasks, *storing):
                task.cancel()
            await asyncio.gather(*tasks, *storing, return_exceptions=True)
            scorer.close()
    if quiet:
        store.save_source_states(db, quiet, utcnow())
    finished = utcnow()
    order = {s.name: i for i, s in enumerate(chosen)}
    reports.sort(key=lambda r: order[r.name])
    store.record_run(
        db, started, finished, len(reports), sum(r.status == "error" for r in reports), len(new_ids)
    )
    return RunReport(
        started=started, finished=finished, sources=tuple(reports), new_mention_ids=tuple(new_ids)
    )


def scan(
    config: Config,
    db: sqlite_utils.Database,
    *,
    only: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> RunReport:
    """Fetch, match, score and store; one failing source never stops the others."""
    return asyncio.run(scan_async(config, db, only=only, progress=progress))
