"""One scan: fetch every source concurrently, match brands, score, store per source.

Scoring is the costliest step when most posts are mentions, so each source's distinct
scoring jobs go to ``analysis.scoring.Scorer`` as one batch: in a process pool on every
core once the scan has enough of them, while the event loop goes on fetching and storing.
Fetching waits when too many sources are fetched but not yet stored, so memory follows
the concurrency, not the number of sources."""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import sqlite_utils

from . import sources as adapters
from .analysis.matcher import Matcher, compile_brands
from .analysis.scoring import HOLD_BATCHES, Job, Scorer
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
)
from .sources.http import make_client
from .store import db as store
from .timeutil import utcnow
from .webcare import policy

ProgressCallback = Callable[[SourceReport], None]

# Sources fetched or being fetched but not yet stored, per unit of concurrency: bounds
# what a scan of thousands of sources holds in memory when scoring falls behind fetching.
IN_FLIGHT_PER_SLOT = 4
# Group commits: a group of sources ready to store is written this long after the first
# of them was ready, or as soon as it has this many sources.
WRITE_DELAY = 0.05  # seconds
GROUP_MAX = 64


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


def _store_group(
    db: sqlite_utils.Database,
    group: Sequence[tuple[_Candidates, dict[Job, Sentiment]]],
    checker: policy.PolicyChecker,
) -> list[tuple[SourceReport, list[str]]]:
    """Store these sources' new mentions and states in one transaction; each report
    with the count of mentions that were really new."""
    runs: list[store.SourceRun] = []
    for cands, scores in group:
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
        runs.append(store.SourceRun(src.name, src.type, found, result.state, report))
    new_ids = store.save_source_runs(db, runs, fetched=utcnow())
    # Policy flags right after the mentions, in their own transaction (save_source_runs
    # has no hook inside its own); policy.catch_up covers a crash in between.
    policy.flag_mentions(db, checker, [i for ids in new_ids for i in ids], now=utcnow())
    # A post seen by two sources is stored once; count only what was really new.
    return [
        (dataclasses.replace(run.report, new_mentions=len(ids)), ids)
        for run, ids in zip(runs, new_ids, strict=True)
    ]


class _GroupWriter:
    """Stores sources as their scores arrive, several to a transaction (a group commit):
    a commit costs milliseconds, and a scan of thousands of sources would otherwise spend
    most of its time committing. A group is written ``WRITE_DELAY`` after its first
    source was ready, or at once when it has ``GROUP_MAX`` sources."""

    def __init__(self, db: sqlite_utils.Database, checker: policy.PolicyChecker) -> None:
        self.db = db
        self.checker = checker
        self._ready: list[tuple[_Candidates, dict[Job, Sentiment]]] = []
        self._waiting: list[asyncio.Future[tuple[SourceReport, list[str]]]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def store(
        self, cands: _Candidates, scores: dict[Job, Sentiment]
    ) -> tuple[SourceReport, list[str]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[SourceReport, list[str]]] = loop.create_future()
        self._ready.append((cands, scores))
        self._waiting.append(future)
        if len(self._ready) >= GROUP_MAX:
            self._write()
        elif self._timer is None:
            self._timer = loop.call_later(WRITE_DELAY, self._write)
        return await future

    def _write(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group, self._ready = self._ready, []
        waiting, self._waiting = self._waiting, []
        if not group:
            return
        try:
            results = _store_group(self.db, group, self.checker)
        except Exception as exc:  # a store error fails every source of the group
            for future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        for future, result in zip(waiting, results, strict=True):
            if not future.done():  # cancelled with its scan: stored all the same
                future.set_result(result)


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
    checker = policy.PolicyChecker(
        config.policy, own_brands=[b.name for b in config.brands if b.answerable]
    )
    policy.catch_up(db, checker, now=started)
    reports: list[SourceReport] = []
    new_ids: list[str] = []
    gate = asyncio.Semaphore(config.settings.concurrency)
    per_host = min(config.settings.concurrency, config.settings.concurrency_per_host)
    host_gates = {host: asyncio.Semaphore(per_host) for host in map(_host, chosen)}
    in_flight = IN_FLIGHT_PER_SLOT * config.settings.concurrency
    room = asyncio.Semaphore(in_flight)
    # Sets that forget a task once it is done: a finished fetch task holds the source's
    # whole result, and thousands of them would hold every post fetched.
    fetching: set[asyncio.Task[_Outcome]] = set()
    # Held batches are scored before they fill every slot: else fetching would wait on
    # scoring that waits on fetching.
    scorer = Scorer(
        config.settings.sentiment,
        hold=min(in_flight, HOLD_BATCHES),
        batches_left=lambda: len(fetching),  # an upper bound: some will have nothing
    )
    writer = _GroupWriter(db, checker)

    async def fetch(src: SourceConfig) -> _Outcome:
        await room.acquire()  # released once the source is stored (or had nothing)
        return await _fetch_one(
            client, src, config, states.get(src.name, SourceState()), gate, host_gates[_host(src)]
        )

    async with make_client(config.settings) as client:
        for src in chosen:
            task = asyncio.create_task(fetch(src))
            fetching.add(task)
            task.add_done_callback(fetching.discard)
        storing: set[asyncio.Task[None]] = set()

        def forget_if_stored(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is None:
                storing.discard(task)  # a failed one stays, for gather to raise

        quiet: list[tuple[str, str, SourceState | None, SourceReport]] = []

        def finish(report: SourceReport) -> None:
            reports.append(report)
            if progress is not None:
                progress(report)

        async def score_and_store(cands: _Candidates) -> None:
            try:
                scores = await scorer.score([c[3] for c in cands.found])
                # Stored as each source finishes: a crash later loses nothing stored here.
                report, ids = await writer.store(cands, scores)
            finally:
                room.release()
            new_ids.extend(ids)
            finish(report)

        try:
            for next_done in asyncio.as_completed(fetching):
                outcome = await next_done
                report_or_none = _quiet_outcome(outcome)
                if report_or_none is None:
                    cands = _candidates(db, outcome, matcher)
                    # Scored while the loop goes on fetching and matching other sources.
                    stored = asyncio.create_task(score_and_store(cands))
                    storing.add(stored)
                    stored.add_done_callback(forget_if_stored)
                    continue
                room.release()
                # No mentions to keep atomic with: written together at the end. An error
                # keeps the old state (None): nothing was stored, so nothing is skipped.
                state = outcome.result.state if outcome.result is not None else None
                quiet.append((report_or_none.name, report_or_none.type, state, report_or_none))
                finish(report_or_none)
            scorer.drain()  # everything is fetched: nothing more is worth waiting for
            await asyncio.gather(*storing)
        finally:
            # After an error: stop what is left and wait for it, so nothing runs on
            # (or writes) after scan() has returned.
            left = (*fetching, *storing)
            for running in left:
                running.cancel()
            await asyncio.gather(*left, return_exceptions=True)
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
    with store.checkpoint_after(db):
        return asyncio.run(scan_async(config, db, only=only, progress=progress))
