"""One scan: fetch every source concurrently, match brands, score, store per source."""

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
from .analysis.sentiment import analyze
from .config.loader import Config
from .config.model import SourceConfig
from .errors import ConfigError, SourceError
from .models import FetchResult, Match, RawItem, RunReport, SourceReport, SourceState
from .sources.http import make_client
from .store import db as store
from .timeutil import utcnow
from .webcare import policy

ProgressCallback = Callable[[SourceReport], None]


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


def _store_outcome(
    db: sqlite_utils.Database,
    outcome: _Outcome,
    matcher: Matcher,
    engine: str,
    checker: policy.PolicyChecker,
) -> tuple[SourceReport, list[str]]:
    src = outcome.config
    result = outcome.result
    assert result is not None
    found: list[store.NewMention] = []
    candidates: list[tuple[RawItem, Match, list[Match], str, str]] = []
    fetched = utcnow()
    claimed: dict[str, datetime] = {}
    for raw in result.items:
        item = _clamp_published(raw, fetched)
        if item is not raw and raw.published is not None:
            claimed[raw.external_id] = raw.published
        matches = matcher.match(item.title, item.text)
        if matches:
            item, matches = store.fit_text(item, matches)  # a match past the cap stays shown
            pid = store.post_key(src.name, item)
            candidates.extend(
                (item, m, matches, pid, store.mention_key(pid, m.brand)) for m in matches
            )
    known = store.existing_mentions(db, [c[4] for c in candidates])
    for item, match, matches, pid, mid in candidates:
        if mid in known:
            continue  # already stored: don't pay for sentiment again
        others = [s for m in matches if m is not match for s in m.spans]
        combined = f"{item.title}\n{item.text}"
        sentiment = analyze(
            combined, engine=engine, spans=match.spans, others=others, lang=item.lang
        )
        found.append(store.NewMention(pid, item, match, sentiment, claimed.get(item.external_id)))
    report = SourceReport(
        src.name,
        src.type,
        "ok",
        items=len(result.items),
        seconds=outcome.seconds,
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
        for next_done in asyncio.as_completed(tasks):
            outcome = await next_done
            report_or_none = _quiet_outcome(outcome)
            if report_or_none is None:
                # Stored as each source finishes: a crash later loses nothing stored here.
                report, ids = _store_outcome(
                    db, outcome, matcher, config.settings.sentiment, checker
                )
                new_ids.extend(ids)
            else:
                # No mentions to keep atomic with: written together at the end. An error
                # keeps the old state (None): nothing was stored, so nothing is skipped.
                report = report_or_none
                state = outcome.result.state if outcome.result is not None else None
                quiet.append((report.name, report.type, state, report))
            reports.append(report)
            if progress is not None:
                progress(report)
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
