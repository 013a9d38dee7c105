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
from ..config.loader import Config
from ..config.policy import SEVERITY_RANK
from ..errors import ConfigError
from ..store import db as store
from ..timeutil import from_iso, parse_duration, parse_when, to_iso
from ..webcare.inbox import answerable, priority, register_priority, response_target, target_sql
from ..webcare.policy import flagged_between

BucketUnit = Literal["hour", "day", "week"]
ListKind = Literal["period", "undelivered"]
SourceProblem = Literal["failed", "empty", "not-run", "warning"]

NEEDS_ANSWER = 5  # how many mentions the "needs an answer" section shows
POLICY_ITEMS = 5  # mentions listed per policy rule
WAITING = ("new", "open")  # statuses that still need an answer (inbox.ACTIVE)
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
            ranked = stats.top(config, limit)
            needs_answer = stats.needs_answer(config)
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
    it): volume, share of negative and share of voice, counted by SQLite in one GROUP BY
    (not one query, nor one Python pass over every mention, per period)."""
    brands = _Brands(config, brand)
    seconds = max(1, int(period.length.total_seconds()))
    first = period.end - period.length * periods
    origin = int(first.timestamp())
    rows = db.execute(
        "SELECT m.brand, (CAST(strftime('%s', COALESCE(p.published, p.fetched)) AS INTEGER)"
        " - ?) / ? AS k, COUNT(*), SUM(m.sentiment_label = 'negative')"
        " FROM mentions m JOIN posts p ON p.id = m.post_id"
        " WHERE m.status != 'irrelevant'"
        " AND COALESCE(p.published, p.fetched) >= ? AND COALESCE(p.published, p.fetched) < ?"
        " GROUP BY m.brand, k",
        [origin, seconds, to_iso(first), to_iso(period.end)],
    ).fetchall()
    counts: Counter[tuple[str, int]] = Counter()
    negatives: Counter[tuple[str, int]] = Counter()
    for stored, k, n, neg in rows:
        name = brands.canonical(stored)
        if name is not None and 0 <= k < periods:
            counts[name, k] += n
            negatives[name, k] += neg or 0
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


# The period's rows, read once (from covering indexes) into a temporary table that
# every GROUP BY below reads: one join over the period instead of one per figure.
_PERIOD = """
CREATE TEMP TABLE digest_rows AS
SELECT m.id AS id, m.brand AS brand, m.status AS status,
       COALESCE(m.sentiment_label, 'neutral') AS label, m.sentiment AS sentiment,
       p.reach AS reach, p.source AS source, p.author AS author,
       COALESCE(p.published, p.fetched) AS at
FROM posts p JOIN mentions m ON m.post_id = p.id
WHERE COALESCE(p.published, p.fetched) >= ? AND COALESCE(p.published, p.fetched) < ?
  AND m.status != 'irrelevant'
"""
_PREVIOUS = """
SELECT m.brand, count(*) FROM posts p JOIN mentions m ON m.post_id = p.id
WHERE COALESCE(p.published, p.fetched) >= ? AND COALESCE(p.published, p.fetched) < ?
  AND m.status != 'irrelevant'
GROUP BY m.brand
"""


class _Stats:
    """The period's numbers per configured brand, aggregated by SQLite; the stored
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
        self.score_sum: Counter[str] = Counter()
        self.scored: Counter[str] = Counter()
        self.spellings: set[str] = set()  # stored brand values of the shown brands
        self._buckets: dict[str, Counter[Any]] | None = None  # per brand: bucket → count
        self._by_cache: dict[str, dict[str, Counter[Any]]] = {}  # column → brand → counts
        shown = set(brands.shown)
        # The previous period only gives the change: a count, no rows kept.
        for stored, n in db.execute(_PREVIOUS, [to_iso(period.previous_start), self.start]):
            name = brands.canonical(stored)
            if name is not None:
                self.previous[name] += n
        db.execute("DROP TABLE IF EXISTS temp.digest_rows")
        db.execute(_PERIOD, [self.start, self.end])
        rows = self._query(
            "SELECT brand, label, count(*), total(sentiment), count(sentiment) FROM c GROUP BY 1, 2"
        )
        for stored, label, n, score_sum, scored in rows:
            name = brands.canonical(stored)
            if name is None:
                continue
            if name in shown:
                self.spellings.add(stored)
            self.counts[name] += n
            self.labels[name][label] += n
            self.score_sum[name] += score_sum
            self.scored[name] += scored

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """``sql`` over the period's rows, table ``c``."""
        head = "WITH c AS (SELECT * FROM temp.digest_rows)\n"
        return list(self.db.execute(head + sql, params))

    def close(self) -> None:
        self.db.execute("DROP TABLE IF EXISTS temp.digest_rows")

    def _fold(self, rows: Iterable[tuple[Any, ...]]) -> dict[str, Counter[Any]]:
        out: dict[str, Counter[Any]] = defaultdict(Counter)
        for stored, key, n in rows:
            name = self.brands.canonical(stored)
            if name is not None:
                out[name][key] += n
        return out

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
        # Buckets are whole clock hours / days from bucket_origin; only the period's
        # mentions are counted, each in exactly one bucket: the bars add up to the count.
        origin = self.period.bucket_origin
        if self._buckets is None:
            self._buckets = self._fold(
                self._query(
                    "SELECT brand, CAST((strftime('%s', at) - ?) / ? AS INTEGER), count(*)"
                    " FROM c WHERE strftime('%s', at) IS NOT NULL GROUP BY 1, 2",
                    [origin.timestamp(), self.period.bucket_size.total_seconds()],
                )
            )
        size = self.period.bucket_size
        n = max(1, math.ceil((self.period.end - origin) / size))
        counts = [0] * n
        for bucket, count in self._buckets[name].items():
            counts[min(n - 1, max(0, int(bucket)))] += count
        return tuple(VolumeBucket(origin + i * size, c) for i, c in enumerate(counts))

    def _by(self, column: str) -> dict[str, Counter[Any]]:
        cache = self._by_cache
        if column not in cache:
            where = " WHERE trim(author) != ''" if column == "author" else ""
            cache[column] = self._fold(
                self._query(f"SELECT brand, {column}, count(*) FROM c{where} GROUP BY 1, 2")  # noqa: S608
            )
        return cache[column]

    def _ranked_rows(
        self, config: Config, where: str, order: str, limit: int, *, answerable_only: bool = False
    ) -> list[dict[str, Any]]:
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
        params = [now, *WAITING, now, *target_params, *spellings, limit]
        ids = [r[0] for r in self._query(sql, params)]
        return _rows_by_id(self.db, self.brands, ids)

    def top(self, config: Config, limit: int) -> list[DigestMention]:
        rows = self._ranked_rows(config, "1", "pr DESC, at DESC, id", limit)
        return _ranked(rows, self.period.end, config)

    def needs_answer(self, config: Config) -> tuple[DigestMention, ...]:
        """Overdue mentions first, then negative ones, each by priority: the first
        NEEDS_ANSWER of what is still waiting."""
        waiting = ",".join(f"'{s}'" for s in WAITING)
        rows = self._ranked_rows(
            config,
            f"status IN ({waiting}) AND (late OR label = 'negative')",
            "late DESC, pr DESC, at DESC, id",
            NEEDS_ANSWER,
            # Competitors and topics are counted but are not ours to answer.
            answerable_only=True,
        )
        ranked = _ranked(rows, self.period.end, config)
        return tuple(sorted(ranked, key=lambda m: m.overdue_by is None))


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
