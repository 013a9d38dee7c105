"""The digest as data: what a period looked like for the configured brands, read from
the store into a tree of frozen dataclasses. Rendering (text, markdown, HTML, JSON)
lives in report.render; sending and delivery bookkeeping in cli.digest.

Only configured brands count (a brand removed from the config drops out of the
digest), and mentions whose status is ``irrelevant`` are left out everywhere.

Priority ("needs an answer")
----------------------------
Every listed mention gets a priority score; higher means answer it sooner::

    priority = tone * audience * freshness
    tone      = max(0.25, 1 - sentiment)      sentiment -1 → 2.0, 0 → 1.0, ≥ +0.75 → 0.25
    audience  = 1 + log10(1 + reach)          no or zero reach → 1, 100 → 3, 10 000 → 5
    freshness = 0.5 ** (age in hours / 24)    halves every day before the end of the period

A very negative post seen by many people this morning outranks a mildly negative one
from last week. "Needs an answer" lists the mentions still waiting (status ``new`` or
``open``): first those past their response-time target (overdue at the end of the period,
see webcare.inbox.response_target), then the highest-priority *negative* ones; every
mention list (on screen and in e-mails) is ordered by priority.

Policy ("policy flags")
-----------------------
When the config has `policy:` rules (or mentions of the period were flagged), the digest
lists, per rule (most severe first), how many mentions of the period it flagged and the
top ones by priority.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlite_utils

from ..config.loader import Config
from ..config.policy import SEVERITY_RANK
from ..errors import ConfigError
from ..store import db as store
from ..timeutil import from_iso, parse_duration, parse_when, to_iso
from ..webcare.inbox import priority, response_target
from ..webcare.policy import flagged_between

BucketUnit = Literal["hour", "day", "week"]
ListKind = Literal["period", "undelivered"]
SourceProblem = Literal["failed", "empty", "not-run", "warning"]

NEEDS_ANSWER = 5  # how many mentions the "needs an answer" section shows
POLICY_ITEMS = 5  # mentions listed per policy rule
WAITING = ("new", "open")  # statuses that still need an answer (inbox.ACTIVE)
TOP = 5  # top sources / most active authors per brand
EXCERPT_CHARS = 280
_BUCKET_SIZES: dict[BucketUnit, timedelta] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}


# ------------------------------------------------------------------ the tree


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end): the statistics window. The previous period is as long, just before."""

    start: datetime
    end: datetime
    label: str  # what was asked for, for people: "24h", "7d", "since 2026-11-20 00:00"
    bucket: BucketUnit  # volume chart resolution

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def previous_start(self) -> datetime:
        return self.start - self.length

    @property
    def bucket_size(self) -> timedelta:
        return _BUCKET_SIZES[self.bucket]


@dataclass(frozen=True, slots=True)
class Change:
    """This period against the previous one of the same length."""

    previous: int
    delta: int
    percent: float | None  # None when the previous period had nothing to compare with


@dataclass(frozen=True, slots=True)
class SentimentSplit:
    positive: int
    neutral: int
    negative: int
    average: float | None  # mean score, None without scored mentions


@dataclass(frozen=True, slots=True)
class VolumeBucket:
    start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Tally:
    """A name (source, author) and how many mentions it had."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class BrandSummary:
    name: str
    count: int
    change: Change
    sentiment: SentimentSplit
    volume: tuple[VolumeBucket, ...]
    top_sources: tuple[Tally, ...]
    top_authors: tuple[Tally, ...]


@dataclass(frozen=True, slots=True)
class Share:
    """One brand's share of voice among all configured brands in the period."""

    name: str
    count: int
    share: float  # 0..1; 0 when nobody was mentioned


@dataclass(frozen=True, slots=True)
class DigestMention:
    id: str
    brand: str
    source: str
    url: str
    title: str
    excerpt: str
    author: str
    at: datetime  # published, or fetched when the source gave no date
    sentiment: float | None
    sentiment_label: str
    reach: int | None
    priority: float
    status: str = "new"
    overdue_by: timedelta | None = None  # past its response-time target by this much


@dataclass(frozen=True, slots=True)
class MentionList:
    """The mentions a digest lists: the period's (on screen) or those not yet e-mailed
    to these recipients (any age). ``total`` counts them all; ``items`` is capped."""

    kind: ListKind
    total: int
    items: tuple[DigestMention, ...]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """How one configured source fared in the period (from its scan history)."""

    name: str
    type: str
    runs: int
    errors: int
    items: int
    new_mentions: int
    last_status: str | None
    last_error: str | None
    last_error_at: datetime | None
    problem: SourceProblem | None  # failed (some run errored), empty (no items), not-run,
    # or warning (runs that kept only part of what they got: a malformed feed...)
    warnings: int = 0  # runs in the period that warned
    last_warning: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyGroup:
    """The mentions of the period one policy rule flagged: how many, and the top ones."""

    rule: str
    severity: str
    count: int
    items: tuple[DigestMention, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    period: Period
    brand_filter: str | None
    total: int  # mentions of the shown brands in the period
    change: Change
    brands: tuple[BrandSummary, ...]
    share_of_voice: tuple[Share, ...]  # always between all configured brands
    needs_answer: tuple[DigestMention, ...]
    mentions: MentionList
    sources: tuple[SourceHealth, ...]
    # None: no policy rules configured and nothing flagged (the section is left out).
    policy: tuple[PolicyGroup, ...] | None = None


# ------------------------------------------------------------------ building


def make_period(since: str, *, end: datetime) -> Period:
    """The window ``--since`` names, ending at ``end`` (normally now)."""
    start = parse_when(since, option="--since", now=end)
    if start >= end:
        raise ConfigError(f"--since: {since!r} is not before the end of the period ({to_iso(end)})")
    label = since.strip() if parse_duration(since) else f"since {_minutes(start)}"
    length = end - start
    bucket: BucketUnit = "hour"
    if length > timedelta(hours=48):
        # Past ~two months daily bars get too thin to read (and too many for an e-mail).
        bucket = "day" if length <= timedelta(days=62) else "week"
    return Period(start=start, end=end, label=label, bucket=bucket)


def _minutes(dt: datetime) -> str:
    return (to_iso(dt) or "")[:16].replace("T", " ")


_SELECT = """
SELECT m.id, m.brand, m.status, m.sentiment, m.sentiment_label, p.source, p.url, p.title,
       substr(p.text, 1, 2000) AS text, p.author, p.reach,
       COALESCE(p.published, p.fetched) AS at
FROM mentions m JOIN posts p ON p.id = m.post_id
WHERE m.status != 'irrelevant'
"""


class _Brands:
    """The brands a digest covers, matched case-insensitively as stored."""

    def __init__(self, config: Config, only: str | None) -> None:
        self.all = [b.name for b in config.brands]
        names = {b.casefold(): b for b in self.all}
        if only is not None and only.casefold() not in names:
            raise ConfigError(
                f"--brand: {only!r} is not a configured brand; known: {', '.join(self.all)}"
            )
        self.shown = [names[only.casefold()]] if only is not None else self.all
        self._names = names

    def canonical(self, stored: str) -> str | None:
        return self._names.get(stored.casefold())


def candidate_ids(db: sqlite_utils.Database, config: Config, brand: str | None = None) -> list[str]:
    """Every countable mention of the shown brands, any age, oldest first: what an
    e-mail digest may carry (the caller keeps those not yet delivered)."""
    brands = _Brands(config, brand)
    shown = set(brands.shown)
    rows = db.execute(
        "SELECT m.id, m.brand FROM mentions m JOIN posts p ON p.id = m.post_id"
        " WHERE m.status != 'irrelevant' ORDER BY COALESCE(p.published, p.fetched), m.id"
    ).fetchall()
    return [mid for mid, b in rows if brands.canonical(b) in shown]


def build_digest(
    db: sqlite_utils.Database,
    config: Config,
    period: Period,
    *,
    brand: str | None = None,
    listed: Sequence[str] | None = None,
    limit: int = 20,
) -> Digest:
    """The digest of ``period``. ``listed``: the ids to list (e-mail: those not yet
    delivered, any age); None lists the period's own mentions. At most ``limit`` are
    listed, highest priority first."""
    brands = _Brands(config, brand)
    rows = _rows_between(db, brands, period.previous_start, period.end)
    start = to_iso(period.start) or ""
    current = [r for r in rows if r["at"] >= start]
    previous = [r for r in rows if r["at"] < start]

    by_brand: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in current:
        by_brand[r["brand"]].append(r)
    prev_counts = Counter(r["brand"] for r in previous)

    summaries = tuple(
        _brand_summary(name, by_brand[name], prev_counts[name], period) for name in brands.shown
    )
    total_all = sum(len(by_brand[name]) for name in brands.all)
    share = tuple(
        Share(name, len(by_brand[name]), _ratio(len(by_brand[name]), total_all))
        for name in brands.all
    )
    total = sum(s.count for s in summaries)

    if listed is None:
        pool = [r for name in brands.shown for r in by_brand[name]]
        kind: ListKind = "period"
    else:
        pool = _rows_by_id(db, brands, listed)
        kind = "undelivered"
    ranked = _ranked(pool, period.end, config)
    waiting = [m for m in ranked if m.status in WAITING]
    overdue = [m for m in waiting if m.overdue_by is not None]
    negative = [m for m in waiting if m.overdue_by is None and m.sentiment_label == "negative"]
    needs_answer = tuple(overdue + negative)[:NEEDS_ANSWER]
    return Digest(
        period=period,
        brand_filter=brands.shown[0] if brand is not None else None,
        total=total,
        change=_change(total, sum(prev_counts[name] for name in brands.shown)),
        brands=summaries,
        share_of_voice=share,
        needs_answer=needs_answer,
        mentions=MentionList(kind=kind, total=len(ranked), items=tuple(ranked[:limit])),
        sources=source_health(db, config, period),
        policy=_policy(db, config, brands, period),
    )


def _ranked(rows: Iterable[dict[str, Any]], now: datetime, config: Config) -> list[DigestMention]:
    return sorted(
        (_mention(r, now, config) for r in rows),
        key=lambda m: (-m.priority, -m.at.timestamp(), m.id),
    )


def _policy(
    db: sqlite_utils.Database, config: Config, brands: _Brands, period: Period
) -> tuple[PolicyGroup, ...] | None:
    shown = set(brands.shown)
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for flag in flagged_between(db, period.start, period.end):
        if brands.canonical(flag["brand"]) in shown:
            by_rule[flag["rule"]].append(flag)
    if not by_rule and not config.policy:
        return None
    groups = []
    for rule, flags in by_rule.items():
        rows = _rows_by_id(db, brands, [f["mention_id"] for f in flags])
        ranked = _ranked(rows, period.end, config)
        severity = max((f["severity"] for f in flags), key=lambda s: SEVERITY_RANK.get(s, 0))
        groups.append(PolicyGroup(rule, severity, len(flags), tuple(ranked[:POLICY_ITEMS])))
    groups.sort(key=lambda g: (-SEVERITY_RANK.get(g.severity, 0), -g.count, g.rule))
    return tuple(groups)


def _rows_between(
    db: sqlite_utils.Database, brands: _Brands, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    sql = (
        _SELECT
        + " AND COALESCE(p.published, p.fetched) >= ? AND COALESCE(p.published, p.fetched) < ?"
    )
    return _known(db.query(sql, [to_iso(start), to_iso(end)]), brands)


def _rows_by_id(
    db: sqlite_utils.Database, brands: _Brands, ids: Sequence[str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = list(ids[i : i + 500])
        sql = _SELECT + f" AND m.id IN ({','.join('?' * len(chunk))})"
        out.extend(_known(db.query(sql, chunk), brands))
    return out


def _known(rows: Iterable[dict[str, Any]], brands: _Brands) -> list[dict[str, Any]]:
    """Rows of configured brands (all: share of voice needs them), spelled as configured."""
    out = []
    for r in rows:
        name = brands.canonical(r["brand"])
        if name is not None:
            out.append({**r, "brand": name})
    return out


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _change(count: int, previous: int) -> Change:
    percent = round(100.0 * (count - previous) / previous, 1) if previous else None
    return Change(previous=previous, delta=count - previous, percent=percent)


def _brand_summary(
    name: str, rows: Sequence[dict[str, Any]], previous: int, period: Period
) -> BrandSummary:
    labels = Counter(r["sentiment_label"] or "neutral" for r in rows)
    scores = [r["sentiment"] for r in rows if r["sentiment"] is not None]
    return BrandSummary(
        name=name,
        count=len(rows),
        change=_change(len(rows), previous),
        sentiment=SentimentSplit(
            positive=labels["positive"],
            neutral=labels["neutral"],
            negative=labels["negative"],
            average=round(sum(scores) / len(scores), 3) if scores else None,
        ),
        volume=_volume(rows, period),
        top_sources=_top(r["source"] for r in rows),
        top_authors=_top(r["author"] for r in rows if (r["author"] or "").strip()),
    )


def _top(names: Iterable[str]) -> tuple[Tally, ...]:
    counts = Counter(names)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(Tally(name, count) for name, count in ranked[:TOP])


def _volume(rows: Sequence[dict[str, Any]], period: Period) -> tuple[VolumeBucket, ...]:
    # Buckets start at the period's start (the last may be shorter), so every mention
    # of the period falls in exactly one bucket and the bars add up to the count.
    size = period.bucket_size
    n = max(1, math.ceil(period.length / size))
    counts = [0] * n
    for r in rows:
        at = from_iso(r["at"])
        if at is not None:
            counts[min(n - 1, int((at - period.start) / size))] += 1
    return tuple(VolumeBucket(period.start + i * size, c) for i, c in enumerate(counts))


def _mention(r: dict[str, Any], now: datetime, config: Config) -> DigestMention:
    at = from_iso(r["at"]) or now
    target = response_target(config, r["brand"], r["sentiment_label"])
    late = now - at - target if target is not None else None
    if late is not None and (late <= timedelta(0) or r["status"] not in WAITING):
        late = None
    text = " ".join((r["text"] or "").split())
    excerpt = text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"
    return DigestMention(
        id=r["id"],
        brand=r["brand"],
        source=r["source"],
        url=r["url"] or "",
        title=r["title"] or "",
        excerpt=excerpt,
        author=r["author"] or "",
        at=at,
        sentiment=r["sentiment"],
        sentiment_label=r["sentiment_label"] or "neutral",
        reach=r["reach"],
        priority=priority(r["sentiment"], r["reach"], at, now),
        status=r["status"],
        overdue_by=late,
    )


def source_health(
    db: sqlite_utils.Database, config: Config, period: Period
) -> tuple[SourceHealth, ...]:
    """Each configured source's scans in the period: which failed (and how), which
    returned nothing, which never ran (is the cron scan still running?)."""
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in db.query(
        "SELECT source, status, items, new_mentions, error, at, warnings FROM source_runs"
        " WHERE at >= ? AND at < ? ORDER BY at, id",
        [to_iso(period.start), to_iso(period.end)],
    ):
        runs[row["source"]].append(row)
    out = []
    for src in config.sources:
        mine = runs.get(src.name, [])
        errors = [r for r in mine if r["status"] == "error"]
        warned = [w for r in mine if (w := store.warnings_of(r, "warnings"))]
        items = sum(r["items"] for r in mine)
        problem: SourceProblem | None = None
        if not mine:
            problem = "not-run"
        elif errors:
            problem = "failed"
        elif items == 0:
            problem = "empty"
        elif warned:
            problem = "warning"
        out.append(
            SourceHealth(
                name=src.name,
                type=src.type,
                runs=len(mine),
                errors=len(errors),
                items=items,
                new_mentions=sum(r["new_mentions"] for r in mine),
                last_status=mine[-1]["status"] if mine else None,
                last_error=errors[-1]["error"] if errors else None,
                last_error_at=from_iso(errors[-1]["at"]) if errors else None,
                problem=problem,
                warnings=len(warned),
                last_warning="; ".join(warned[-1]) if warned else None,
            )
        )
    return tuple(out)
