"""Exact counts of countable mentions (status not ``irrelevant``) over time ranges, read
from the roll-ups (migration 006) for the whole hours and days in a range and from the
mentions themselves only for the parts of hours and days a range cuts through.

Times are the stored ISO strings ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), so ranges compare as
text; a mention's time is ``COALESCE(published, fetched)`` of its post, as everywhere.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

import sqlite_utils

from ..timeutil import from_iso, to_iso
from .migrations import COUNT_MERGE, HOURS_MERGE

AT = "COALESCE(p.published, p.fetched)"
_RAW = f"""
FROM posts p JOIN mentions m ON m.post_row = p.rowid
WHERE {AT} >= ? AND {AT} < ? AND m.status != 'irrelevant'
"""


@dataclass(slots=True)
class Figures:
    """Per (stored brand, label): mentions, sum of scores, mentions with a score."""

    n: Counter[tuple[str, str]] = field(default_factory=Counter)
    score_sum: dict[tuple[str, str], float] = field(default_factory=dict)
    scored: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, brand: str, label: str, n: int, score_sum: float, scored: int) -> None:
        key = (brand, label)
        self.n[key] += n
        self.score_sum[key] = self.score_sum.get(key, 0.0) + score_sum
        self.scored[key] += scored


def _hour_start(hour: str) -> str:
    return hour + ":00:00Z"


def _shift(iso: str, delta: timedelta) -> str:
    moved = from_iso(iso)
    assert moved is not None  # our own ISO strings
    return to_iso(moved + delta) or ""


def hour_figures(db: sqlite_utils.Database, edges: Sequence[str]) -> list[Figures]:
    """Figures of each range [edges[i], edges[i + 1]) (ISO strings, ascending)."""
    out = [Figures() for _ in edges[1:]]
    if len(edges) < 2:
        return out
    lo, hi = edges[0], edges[-1]
    # Hours an edge falls inside of are read row by row; every other hour lies in one
    # range whole, and its roll-up row counts for it.
    split = sorted({e[:13] for e in edges if e[13:] != ":00:00Z"})
    for i, (a, b) in enumerate(pairwise(edges)):
        # The whole hours of [a, b): from a's hour (the next one when a cuts it) up to
        # b's hour (which b either starts or cuts), summed by SQLite over the key range.
        first = a[:13] if a[13:] == ":00:00Z" else _shift(a, timedelta(hours=1))[:13]
        for brand, label, n, score_sum, scored in db.execute(
            "SELECT brand, label, sum(n), sum(score_sum), sum(scored) FROM mention_hours"
            " WHERE hour >= ? AND hour < ? GROUP BY 1, 2",
            [first, b[:13]],
        ):
            out[i].add(brand, label, n, score_sum, scored)
    for hour in split:
        a = max(lo, _hour_start(hour))
        b = min(hi, _shift(_hour_start(hour), timedelta(hours=1)))
        for at, brand, label, sentiment in db.execute(
            f"SELECT {AT}, m.brand, COALESCE(m.sentiment_label, 'neutral'), m.sentiment" + _RAW,
            [a, b],
        ):
            i = bisect_right(edges, at) - 1
            if 0 <= i < len(out):
                scored = sentiment is not None
                out[i].add(brand, label, 1, sentiment if scored else 0.0, int(scored))
    return out


KINDS = ("source", "author")
Tallies = dict[str, Counter[tuple[str, str]]]  # kind -> (stored brand, name) -> mentions


def _raw_tallies(db: sqlite_utils.Database, a: str, b: str) -> Tallies:
    """Both kinds counted from the mentions in [a, b), in one pass over them."""
    out: Tallies = {kind: Counter() for kind in KINDS}
    for brand, source, author, n in db.execute(
        f"SELECT m.brand, p.source, p.author, count(*) {_RAW} GROUP BY 1, 2, 3", [a, b]
    ):
        out["source"][brand, source] += n
        if author is not None and author.strip(" "):  # as the roll-up's trim(): spaces only
            out["author"][brand, author] += n
    return out


def _name_tallies(db: sqlite_utils.Database, table: str, unit: str, a: str, b: str) -> Tallies:
    """Roll-up counts of the days or hours (``unit``) ``a`` ≤ unit < ``b``."""
    out: Tallies = {}
    for kind in KINDS:
        sql = f"""SELECT brand, name, sum(n) FROM {table}
            WHERE kind = ? AND {unit} >= ? AND {unit} < ? GROUP BY 1, 2"""  # noqa: S608 -- ours
        rows = db.execute(sql, [kind, a, b])
        out[kind] = Counter({(brand, name): n for brand, name, n in rows})
    return out


_START = "0000-00-00T00:00:00Z"  # what a whole day or hour ends with


def _ceil(iso: str, width: int, step: timedelta) -> str:
    """The day (width 10) or hour (13) at or after ``iso``, as its prefix."""
    whole = iso[width:] == _START[width:]
    return iso[:width] if whole else _shift(iso, step)[:width]


# Coarsest first: (table, time column, ISO prefix length, one unit).
_NAME_LEVELS = (
    ("mention_days", "day", 10, timedelta(days=1)),
    ("mention_hour_names", "hour", 13, timedelta(hours=1)),
)


def day_tallies(db: sqlite_utils.Database, lo: str, hi: str) -> Tallies:
    """Mentions per (stored brand, source) and per (stored brand, author) in [lo, hi),
    under ``'source'`` and ``'author'`` (blank authors are not counted): whole days
    from ``mention_days``, whole hours of the days cut from ``mention_hour_names``, and
    only the hours cut (at most two) from the mentions themselves."""
    return _tallies_from(db, lo, hi, 0)


def _tallies_from(db: sqlite_utils.Database, lo: str, hi: str, level: int) -> Tallies:
    """:func:`day_tallies` from ``_NAME_LEVELS[level]`` down."""
    if level == len(_NAME_LEVELS):
        return _raw_tallies(db, lo, hi)
    table, unit, width, step = _NAME_LEVELS[level]
    first, last = _ceil(lo, width, step), hi[:width]
    if first >= last:  # no whole unit inside: all of it one level finer
        return _tallies_from(db, lo, hi, level + 1)
    total = _name_tallies(db, table, unit, first, last)
    for a, b in ((lo, first + _START[width:]), (last + _START[width:], hi)):
        if a < b:
            for kind, counts in _tallies_from(db, a, b, level + 1).items():
                total[kind].update(counts)
    return {kind: +counts for kind, counts in total.items()}


@dataclass(frozen=True, slots=True)
class Bounds:
    """No countable mention in the range had a larger reach or a lower score."""

    max_reach: int
    min_sentiment: float


def bounds(db: sqlite_utils.Database, lo: str, hi: str) -> Bounds:
    row = db.execute(
        "SELECT max(max_reach), min(min_sentiment) FROM mention_hours"
        " WHERE hour >= ? AND hour <= ?",
        [lo[:13], hi[:13]],
    ).fetchone()
    return Bounds(int(row[0] or 0), float(row[1] if row[1] is not None else 0.0))


def iso_ceil(dt: datetime) -> str:
    """``dt`` as a stored ISO string, rounded up to the whole second: a stored time
    (whole seconds) is at or after ``dt`` exactly when it is at or after this."""
    if dt.microsecond:
        dt = dt.replace(microsecond=0) + timedelta(seconds=1)
    return to_iso(dt) or ""


_HOURS_UPSERT = f"""INSERT INTO mention_hours (hour, brand, label, n, score_sum, scored,
    max_reach, min_sentiment) VALUES (?, ?, ?, ?, ?, ?, ?, ?) {HOURS_MERGE}"""  # noqa: S608
_DAYS_UPSERT = f"""INSERT INTO mention_days (kind, day, brand, name, n)
    VALUES (?, ?, ?, ?, ?) {COUNT_MERGE}"""  # noqa: S608
_HOUR_NAMES_UPSERT = f"""INSERT INTO mention_hour_names (kind, hour, brand, name, n)
    VALUES (?, ?, ?, ?, ?) {COUNT_MERGE}"""  # noqa: S608
_TERMS_UPSERT = f"""INSERT INTO term_labels (brand, matched, label, n)
    VALUES (?, ?, '', ?) {COUNT_MERGE}"""  # noqa: S608


@dataclass(slots=True)
class NewCounts:
    """What new mentions add to the roll-ups and ``term_labels``, added up in memory by
    the writer from the rows it has just written. Reading each new mention's post back
    instead cost more than writing it once the store no longer fits in the cache (a
    scan into a 1M store took 3.4x as long as into an empty one); per-row triggers cost
    twice the writer. Only for mentions of posts written in the same breath: a post
    stored before keeps what it was stored with, so those are counted from the store
    (``migrations.count_new_mentions``). A new mention has no label (labels reference
    stored mentions) and status ``new``."""

    hours: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    days: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    hour_names: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    terms: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(
        self,
        *,
        at: str,
        brand: str,
        label: str | None,
        score: float | None,
        reach: int | None,
        source: str,
        author: str | None,
        matched: str,
    ) -> None:
        """One mention, with its post's stored values (``at`` = published, else fetched)."""
        value = score if score is not None else 0.0
        key = (at[:13], brand, label or "neutral")
        figures = self.hours.get(key)
        if figures is None:
            self.hours[key] = [1, value, int(score is not None), reach or 0, value]
        else:
            figures[0] += 1
            figures[1] += value
            figures[2] += score is not None
            figures[3] = max(figures[3], reach or 0)
            figures[4] = min(figures[4], value)
        self.days["source", at[:10], brand, source] += 1
        self.hour_names["source", at[:13], brand, source] += 1
        if author is not None and author.strip(" "):  # as SQL's trim(): spaces only
            self.days["author", at[:10], brand, author] += 1
            self.hour_names["author", at[:13], brand, author] += 1
        self.terms[brand, matched] += 1

    def write(self, db: sqlite_utils.Database) -> None:
        db.conn.executemany(_HOURS_UPSERT, [(*k, *v) for k, v in self.hours.items()])
        db.conn.executemany(_DAYS_UPSERT, [(*k, n) for k, n in self.days.items()])
        db.conn.executemany(_HOUR_NAMES_UPSERT, [(*k, n) for k, n in self.hour_names.items()])
        db.conn.executemany(_TERMS_UPSERT, [(*k, n) for k, n in self.terms.items()])
