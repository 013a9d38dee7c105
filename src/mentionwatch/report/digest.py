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

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlite_utils

from ..analysis.matcher import Matcher, compile_brands
from ..analysis.priority import ceiling, highest_key, lowest_key, priority_by_age, weight
from ..config.loader import Config
from ..config.policy import SEVERITY_RANK
from ..errors import ConfigError
from ..store import db as store
from ..store import rollup
from ..timeutil import from_iso, parse_duration, parse_when, to_iso
from ..webcare.inbox import (
    answerable,
    priority,
    register_priority,
    response_target,
    target_sql,
)
from ..webcare.policy import flagged_between
from ..webcare.topn import Best, DescendingId

BucketUnit = Literal["hour", "day", "week"]
ListKind = Literal["period", "undelivered"]
SourceProblem = Literal["failed", "empty", "not-run", "warning"]

NEEDS_ANSWER = 5  # how many mentions the "needs an answer" section shows
POLICY_ITEMS = 5  # mentions listed per policy rule
WAITING = ("new", "open")  # statuses that still need an answer (inbox.ACTIVE)
WALK_BUDGET = 50_000  # rows the priority walk reads before SQL ranks the whole period
TOP = 5  # top sources / most active authors per brand
EXCERPT_CHARS = 280
EXCERPT_LEAD = 60  # an excerpt starts at the text's start when the brand is named this early
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

    @property
    def bucket_origin(self) -> datetime:
        """Where the first volume bucket starts: the period's start rounded down to the
        whole hour, to midnight UTC, or to Monday's midnight, so that bars read as clock
        hours and calendar days (the first and last bar may cover part of theirs)."""
        start = self.start.astimezone(UTC)
        origin = start.replace(minute=0, second=0, microsecond=0)
        if self.bucket != "hour":
            origin = origin.replace(hour=0)
        if self.bucket == "week":
            origin -= timedelta(days=origin.weekday())
        return origin


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
    # In a language the engine has no model for: not counted as neutral, said apart.
    unscored: int = 0


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
    # How long it has been waiting for an answer (ours to answer, status new or open).
    waiting: timedelta | None = None
    # Where the brand is named in ``excerpt``: [start, end) pairs, for highlighting.
    highlights: tuple[tuple[int, int], ...] = ()
    undated: bool = False  # the source gave no date: ``at`` is when it was fetched
    reach_unit: str = ""  # what ``reach`` counts, as the source names it: followers, points


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
class TrendPoint:
    """One period of a trend: [start, start + the digest's period length)."""

    start: datetime
    count: int
    negative_share: float | None  # of the brand's mentions; None: it had none
    share_of_voice: float | None  # of all configured brands' mentions; None: nobody had any


@dataclass(frozen=True, slots=True)
class BrandTrend:
    name: str
    points: tuple[TrendPoint, ...]  # oldest first; the last is the digest's own period


TREND_PERIODS = 8  # this period and the 7 before it: "week over week" for a weekly digest


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
    # Per shown brand, this period and the ones before it (see `trends`).
    trends: tuple[BrandTrend, ...] = ()


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
       substr(p.text, 1, 2000) AS text, p.author, p.reach, p.counters,
       COALESCE(p.published, p.fetched) AS at, p.published IS NULL AS undated
FROM mentions m JOIN posts p ON p.rowid = m.post_row
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


def candidate_ids(
    db: sqlite_utils.Database,
    config: Config,
    brand: str | None = None,
    *,
    target: str | None = None,
) -> list[str]:
    """Every countable mention of the shown brands, any age, oldest first: what an
    e-mail digest may carry; given ``target``, only those not yet delivered to it.

    Chosen by SQLite (the shown brands' stored spellings, the delivered table), so
    only the ids returned reach Python, not every mention of the store."""
    brands = _Brands(config, brand)
    shown = set(brands.shown)
    # Stored spellings of the shown brands: the hourly roll-up holds every countable one.
    spellings = [
        stored
        for (stored,) in db.execute("SELECT DISTINCT brand FROM mention_hours")
        if brands.canonical(stored) in shown
    ]
    if not spellings:
        return []
    marks = ",".join("?" * len(spellings))
    sql = f"""SELECT m.id FROM mentions m JOIN posts p ON p.rowid = m.post_row
              WHERE m.status != 'irrelevant' AND m.brand IN ({marks})"""  # noqa: S608
    params: list[Any] = list(spellings)
    if target is not None:
        sql += (
            " AND NOT EXISTS (SELECT 1 FROM delivered d WHERE d.mention_id = m.id AND d.target = ?)"
        )
        params.append(target)
    sql += " ORDER BY COALESCE(p.published, p.fetched), m.id"
    return [r[0] for r in db.execute(sql, params)]


def build_digest(
    db: sqlite_utils.Database,
    config: Config,
    period: Period,
    *,
    brand: str | None = None,
    listed: Sequence[str] | None = None,
    limit: int = 20,
    walk_budget: int = WALK_BUDGET,
) -> Digest:
    """The digest of ``period``. ``listed``: the ids to list (e-mail: those not yet
    delivered, any age); None lists the period's own mentions. At most ``limit`` are
    listed, highest priority first. ``walk_budget``: see ``_Stats.ranked``."""
    brands = _Brands(config, brand)
    # The statistics are GROUP BYs in SQLite over the period (an index on the mention's
    # time finds it): the cost follows the period, never the whole store.
    stats = _Stats(db, brands, period)
    try:
        summaries = tuple(stats.summary(name) for name in brands.shown)
        total_all = sum(stats.counts[name] for name in brands.all)
        share = tuple(
            Share(name, stats.counts[name], _ratio(stats.counts[name], total_all))
            for name in brands.all
        )
        total = sum(s.count for s in summaries)

        if listed is None:
            # Only the rows shown are read: SQLite ranks the period by the same priority.
            ranked, needs_answer = stats.ranked(config, limit, budget=walk_budget)
            listing = MentionList(kind="period", total=total, items=tuple(ranked))
        else:
            ranked = _ranked(_rows_by_id(db, brands, listed), period.end, config)
            # Competitors and topics are counted above but are not ours to answer.
            waiting = [m for m in ranked if m.status in WAITING and answerable(config, m.brand)]
            overdue = [m for m in waiting if m.overdue_by is not None]
            negative = [
                m for m in waiting if m.overdue_by is None and m.sentiment_label == "negative"
            ]
            needs_answer = tuple(overdue + negative)[:NEEDS_ANSWER]
            listing = MentionList(
                kind="undelivered", total=len(ranked), items=tuple(ranked[:limit])
            )
    finally:
        stats.close()
    return Digest(
        period=period,
        brand_filter=brands.shown[0] if brand is not None else None,
        total=total,
        change=_change(total, sum(stats.previous[name] for name in brands.shown)),
        brands=summaries,
        share_of_voice=share,
        needs_answer=needs_answer,
        mentions=listing,
        sources=source_health(db, config, period),
        policy=_policy(db, config, brands, period),
        trends=trends(db, config, period, brand=brand),
    )


def trends(
    db: sqlite_utils.Database,
    config: Config,
    period: Period,
    *,
    brand: str | None = None,
    periods: int = TREND_PERIODS,
) -> tuple[BrandTrend, ...]:
    """Per shown brand, the last ``periods`` periods as long as ``period`` (ending with
    it): volume, share of negative and share of voice, from the hourly roll-up (and the
    rows of the few hours a period boundary cuts through)."""
    brands = _Brands(config, brand)
    seconds = max(1, int(period.length.total_seconds()))
    first = period.end - period.length * periods
    origin = int(first.timestamp())
    # Period k is [origin + k * seconds, origin + (k + 1) * seconds), cut at the end.
    edges = [
        to_iso(datetime.fromtimestamp(origin + k * seconds, UTC)) or "" for k in range(periods + 1)
    ]
    edges[-1] = min(edges[-1], to_iso(period.end) or "")
    counts: Counter[tuple[str, int]] = Counter()
    negatives: Counter[tuple[str, int]] = Counter()
    for k, figures in enumerate(rollup.hour_figures(db, edges)):
        for (stored, label), n in figures.n.items():
            name = brands.canonical(stored)
            if name is not None:
                counts[name, k] += n
                if label == "negative":
                    negatives[name, k] += n
    totals = [sum(counts[name, k] for name in brands.all) for k in range(periods)]
    return tuple(
        BrandTrend(
            name,
            tuple(
                TrendPoint(
                    start=first + period.length * k,
                    count=counts[name, k],
                    negative_share=_ratio(negatives[name, k], counts[name, k])
                    if counts[name, k]
                    else None,
                    share_of_voice=_ratio(counts[name, k], totals[k]) if totals[k] else None,
                )
                for k in range(periods)
            ),
        )
        for name in brands.shown
    )


# The fallback ranking (see _Stats.ranked): the period's rows as table ``c``.
_PERIOD_ROWS = """
WITH c AS (
    SELECT m.id AS id, m.brand AS brand, m.status AS status,
           COALESCE(m.sentiment_label, 'neutral') AS label, m.sentiment AS sentiment,
           p.reach AS reach, COALESCE(p.published, p.fetched) AS at
    FROM posts p JOIN mentions m ON m.post_row = p.rowid
    WHERE COALESCE(p.published, p.fetched) >= ? AND COALESCE(p.published, p.fetched) < ?
      AND m.status != 'irrelevant'
)
"""
# The priority walk: the period's rows in priority order (migration 010's index, from
# the top), so it can stop as soon as nothing further down can still rank; rows whose
# key is not known are read first, by themselves.
_BY_KEY = """
SELECT m.id, m.brand, m.status, COALESCE(m.sentiment_label, 'neutral'), m.sentiment, p.reach,
       CAST(strftime('%s', COALESCE(p.published, p.fetched)) AS INTEGER), m.priority_key
FROM mentions m INDEXED BY mentions_priority CROSS JOIN posts p ON p.rowid = m.post_row
WHERE {keys}
  AND COALESCE(p.published, p.fetched) >= ? AND COALESCE(p.published, p.fetched) < ?
  AND m.status != 'irrelevant'
"""
_UNKEYED = _BY_KEY.format(keys="m.priority_key IS NULL")
_KEYED = (
    _BY_KEY.format(keys="m.priority_key >= ? AND m.priority_key <= ?")
    + " ORDER BY m.priority_key DESC"
)


class _Stats:
    """The period's numbers per configured brand, from the roll-ups; the stored
    spellings of a brand (any case) are added up under its configured name."""

    def __init__(self, db: sqlite_utils.Database, brands: _Brands, period: Period) -> None:
        self.db = db
        self.brands = brands
        self.period = period
        self.start = to_iso(period.start) or ""
        self.end = to_iso(period.end) or ""
        self.counts: Counter[str] = Counter()
        self.previous: Counter[str] = Counter()
        self.labels: dict[str, Counter[str]] = defaultdict(Counter)
        self.score_sum: dict[str, float] = defaultdict(float)
        self.scored: Counter[str] = Counter()
        self.spellings: set[str] = set()  # stored brand values of the shown brands
        self._by_cache: dict[str, dict[str, Counter[Any]]] = {}  # column → brand → counts
        # Volume buckets are whole clock hours / days / Monday weeks from bucket_origin
        # (the first and last may cover part of theirs, cut by the period), so every
        # mention of the period falls in exactly one bucket and the bars add up to the
        # count; and the inner edges fall on whole hours, which the roll-up answers alone.
        size = period.bucket_size
        origin = period.bucket_origin
        self._buckets = max(1, math.ceil((period.end - origin) / size))
        edges = [to_iso(period.previous_start) or "", self.start]
        edges += [rollup.iso_ceil(origin + i * size) for i in range(1, self._buckets)]
        edges.append(self.end)
        figures = rollup.hour_figures(db, edges)
        for (stored, _), n in figures[0].n.items():
            name = brands.canonical(stored)
            if name is not None:
                self.previous[name] += n
        self._volume_figures = figures[1:]
        shown = set(brands.shown)
        for bucket in self._volume_figures:
            for (stored, label), n in bucket.n.items():
                name = brands.canonical(stored)
                if name is None or not n:
                    continue
                if name in shown:
                    self.spellings.add(stored)
                self.counts[name] += n
                self.labels[name][label] += n
                self.score_sum[name] += bucket.score_sum[stored, label]
                self.scored[name] += bucket.scored[stored, label]

    def close(self) -> None:
        """Nothing to release (kept for the callers' try/finally)."""

    def summary(self, name: str) -> BrandSummary:
        labels = self.labels[name]
        scored = self.scored[name]
        return BrandSummary(
            name=name,
            count=self.counts[name],
            change=_change(self.counts[name], self.previous[name]),
            sentiment=SentimentSplit(
                positive=labels["positive"],
                neutral=labels["neutral"],
                negative=labels["negative"],
                average=round(self.score_sum[name] / scored, 3) if scored else None,
                unscored=labels["unscored"],
            ),
            volume=self._volume(name),
            top_sources=_top_counts(self._by("source")[name]),
            top_authors=_top_counts(self._by("author")[name]),
        )

    def _volume(self, name: str) -> tuple[VolumeBucket, ...]:
        size = self.period.bucket_size
        origin = self.period.bucket_origin
        return tuple(
            VolumeBucket(
                origin + i * size,
                sum(n for (s, _), n in bucket.n.items() if self.brands.canonical(s) == name),
            )
            for i, bucket in enumerate(self._volume_figures)
        )

    def _by(self, kind: str) -> dict[str, Counter[Any]]:
        if not self._by_cache:  # both kinds at once: one pass over the cut days
            for counted, tally in rollup.day_tallies(self.db, self.start, self.end).items():
                out: dict[str, Counter[Any]] = defaultdict(Counter)
                for (stored, key), n in tally.items():
                    name = self.brands.canonical(stored)
                    if name is not None:
                        out[name][key] += n
                self._by_cache[counted] = out
        return self._by_cache[kind]

    def ranked(
        self, config: Config, limit: int, *, budget: int = WALK_BUDGET
    ) -> tuple[list[DigestMention], tuple[DigestMention, ...]]:
        """The ``limit`` highest-priority mentions of the period, and "needs an answer":
        overdue mentions still waiting first, then negative ones, each by priority (the
        first NEEDS_ANSWER).

        Read newest first: freshness halves a day, so once the best found outrank the
        most any older mention could score (the lowest score and largest reach of the
        period, from the roll-up), the rest is not read. When ``budget`` rows did not
        settle a list (few mentions match it), SQL ranks the whole period for it."""
        top_ids, needs_ids = self._walk(config, limit, budget)
        if top_ids is None:
            top_ids = self._ranked_sql(config, "1", "pr DESC, at DESC, id", limit)
        if needs_ids is None:
            waiting = ",".join(f"'{s}'" for s in WAITING)
            needs_ids = self._ranked_sql(
                config,
                f"status IN ({waiting}) AND (late OR label = 'negative')",
                "late DESC, pr DESC, at DESC, id",
                NEEDS_ANSWER,
                answerable_only=True,
            )
        end = self.period.end
        top = _ranked(_rows_by_id(self.db, self.brands, top_ids), end, config)
        needs = _ranked(_rows_by_id(self.db, self.brands, needs_ids), end, config)
        return top, tuple(sorted(needs, key=lambda m: m.overdue_by is None))

    def _walk(
        self, config: Config, limit: int, budget: int
    ) -> tuple[list[str] | None, list[str] | None]:
        if not self.spellings or limit <= 0:
            return [], ([] if not self.spellings else None)
        # Every mention of the period has a key in this range (analysis.priority).
        edge = rollup.bounds(self.db, self.start, self.end)
        keys = (
            lowest_key(from_iso(self.start) or self.period.start),
            highest_key(weight(edge.min_sentiment, edge.max_reach), self.period.end),
        )
        end_ts = self.period.end.timestamp()
        targets: dict[tuple[str, str], float | None] = {}
        top = Best(limit)
        late = Best(NEEDS_ANSWER)  # overdue and waiting
        negative = Best(NEEDS_ANSWER)  # waiting, negative, not overdue
        # Older rows can still turn out overdue while some waiting (brand, label) has a
        # target; without any, only negative ones compete for "needs an answer".
        any_target = False
        ours = {s for s in self.spellings if answerable(config, s)}
        for s in ours:
            for label in ("positive", "neutral", "negative", "unscored"):
                t = response_target(config, s, label)
                targets[s, label] = t.total_seconds() if t is not None else None
                any_target = any_target or t is not None
        top_done = needs_done = False
        unkeyed = self.db.execute(_UNKEYED, [self.start, self.end]).fetchall()
        cursor = self.db.execute(_KEYED, [*keys, self.start, self.end])
        seen = 0
        while not (top_done and needs_done) and seen < budget:
            rows = unkeyed or cursor.fetchmany(500)
            if not rows:
                top_done = needs_done = True
                break
            for mid, stored, status, label, sentiment, reach, ts, _ in rows:
                if stored not in self.spellings:
                    continue
                seen += 1
                age = (end_ts - ts) / 3600
                pr = priority_by_age(sentiment, reach, age)
                key = (pr, ts, DescendingId(mid))
                top.add(key, mid)
                if stored in ours and status in WAITING:
                    target = targets.get((stored, label))
                    if target is not None and end_ts - ts > target:
                        late.add(key, mid)
                    elif label == "negative":
                        negative.add(key, mid)
            if unkeyed:  # nothing is known of the keyed rows yet
                unkeyed = []
                continue
            # Nothing further down can score above this (the 1e-4: priorities are
            # rounded to four places).
            bound = ceiling(rows[-1][7], self.period.end) + 1e-4
            floor = top.floor()
            top_done = top_done or (floor is not None and floor[0] > bound)
            late_floor = late.floor()
            if late_floor is not None and late_floor[0] > bound:
                needs_done = True  # overdue ones fill the list and no older one beats them
            elif not any_target and late_floor is None:
                neg_floor = negative.floor()
                needs_done = neg_floor is not None and neg_floor[0] > bound
        cursor.close()
        if needs_done:
            needs = late.ids() + negative.ids()
        return (top.ids() if top_done else None), (needs[:NEEDS_ANSWER] if needs_done else None)

    def _ranked_sql(
        self, config: Config, where: str, order: str, limit: int, *, answerable_only: bool = False
    ) -> list[str]:
        spellings = sorted(
            s for s in self.spellings if not answerable_only or answerable(config, s)
        )
        if not spellings:
            return []
        register_priority(self.db)
        target, target_params = target_sql(config)
        now = to_iso(self.period.end)
        marks = ",".join("?" * len(spellings))
        sql = f"""
            , r AS (
                SELECT id, at, status, label,
                       mw_priority(sentiment, reach, (julianday(?) - julianday(at)) * 24) AS pr,
                       COALESCE(status IN ({",".join("?" * len(WAITING))})
                                AND julianday(?) > julianday(at) + {target} / 86400.0, 0) AS late
                FROM c WHERE brand IN ({marks})
            )
            SELECT id FROM r WHERE {where} ORDER BY {order} LIMIT ?
        """  # noqa: S608 -- our own constants only; values are bound
        params = [self.start, self.end, now, *WAITING, now, *target_params, *spellings, limit]
        return [r[0] for r in self.db.execute(_PERIOD_ROWS + sql, params)]


def _top_counts(counts: Counter[Any]) -> tuple[Tally, ...]:
    """The TOP largest counts, ties by name."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(Tally(name, count) for name, count in ranked[:TOP])


def _ranked(rows: Iterable[dict[str, Any]], now: datetime, config: Config) -> list[DigestMention]:
    matcher = compile_brands(config.brands)  # once per list: where each excerpt starts
    return sorted(
        (_mention(r, now, config, matcher) for r in rows),
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


def _excerpt(text: str, brand: str, matcher: Matcher) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The text from a little before the brand's first mention (a reader sees why it is
    listed without reading the preamble), cut at EXCERPT_CHARS; and where the brand's
    terms are in it. Spans come from the matcher itself, so they are what matched."""
    # The matcher indexes title + "\n" + text; with an empty title the text starts at 1.
    spans = sorted(
        (s.start - 1, s.end - 1)
        for m in matcher.match("", text)
        if m.brand.casefold() == brand.casefold()
        for s in m.spans
        if s.start >= 1
    )
    start = 0
    if spans and spans[0][0] > EXCERPT_LEAD:
        # Back up a few words, to a word boundary, so the sentence still reads.
        cut = text.rfind(" ", 0, spans[0][0] - EXCERPT_LEAD // 2)
        start = cut + 1 if cut >= 0 else 0
    lead = "…" if start else ""
    body = text[start:]
    if len(lead) + len(body) > EXCERPT_CHARS:
        body = body[: EXCERPT_CHARS - len(lead) - 1].rstrip()
        kept = len(lead) + len(body)
        body += "…"
    else:
        kept = len(lead) + len(body)
    shift = len(lead) - start
    marks = tuple((a + shift, b + shift) for a, b in spans if a >= start and b + shift <= kept)
    return lead + body, marks


def _mention(
    r: dict[str, Any], now: datetime, config: Config, matcher: Matcher | None = None
) -> DigestMention:
    at = from_iso(r["at"]) or now
    target = response_target(config, r["brand"], r["sentiment_label"])
    late = now - at - target if target is not None else None
    if late is not None and (late <= timedelta(0) or r["status"] not in WAITING):
        late = None
    waiting = None
    if r["status"] in WAITING and not r.get("undated") and answerable(config, r["brand"]):
        waiting = max(timedelta(0), now - at)
    text = " ".join((r["text"] or "").split())
    excerpt, marks = _excerpt(text, r["brand"], matcher or compile_brands(config.brands))
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
        waiting=waiting,
        highlights=marks,
        undated=bool(r.get("undated")),
        reach_unit=_reach_unit(r.get("counters"), r["reach"]),
    )


def _reach_unit(counters: str | None, reach: int | None) -> str:
    """The name of the counter ``reach`` was taken from (the largest one)."""
    if not counters or reach is None:
        return ""
    try:
        named = json.loads(counters)
    except ValueError:
        return ""
    names = [k for k, v in named.items() if v == reach] if isinstance(named, dict) else []
    return str(names[0]) if names else ""


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
