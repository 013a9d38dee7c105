"""Relevance labels and the precision they measure.

A person labels a mention ``relevant`` or ``irrelevant``; the label, who gave it and
when are stored (``labels``), each act is kept in the mention's history
(``mention_events``), and an irrelevant mention takes the status ``irrelevant`` so it
leaves listings, digests and alerts while staying stored. From the labels, per brand
and per matched keyword: precision = relevant / labelled, with a 95% Wilson score
interval, and the keywords that bring most of the irrelevant mentions.

How statuses are restored: every status change a label makes is also written as a
``status`` event, so the status history is the ``status`` events in order. Labelling
``relevant`` a mention whose status is ``irrelevant`` gives it back the newest status
in that history that is not ``irrelevant`` (``new`` when there is none).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist
from typing import Any, Literal

import sqlite_utils

from ..errors import ConfigError, StoreError
from ..store.db import transaction
from ..timeutil import to_iso, utcnow

Label = Literal["relevant", "irrelevant"]
LABELS: tuple[Label, ...] = ("relevant", "irrelevant")
IRRELEVANT = "irrelevant"  # the status an irrelevant label gives a mention
DEFAULT_STATUS = "new"  # a mention's status before anyone touched it
CONFIDENCE = 0.95
NOISIEST = 3  # keywords named at most as the source of irrelevant mentions

# ----------------------------------------------------------------------------- labelling


def parse_label(value: str) -> Label:
    """``relevant`` or ``irrelevant`` (any case); anything else is a usage error."""
    folded = value.strip().lower()
    if folded not in LABELS:
        raise ConfigError(f"expected a label, relevant or irrelevant, got {value!r}")
    return folded


def labeller(explicit: str | None = None) -> str | None:
    """Who is labelling: ``--as NAME``, else ``$USER`` (``%USERNAME%`` on Windows)."""
    if explicit is not None:
        name = explicit.strip()
        if not name:
            raise ConfigError("--as: give a name")
        return name
    return os.environ.get("USER") or os.environ.get("USERNAME") or None


@dataclass(frozen=True, slots=True)
class Labelled:
    """What labelling one mention did."""

    mention_id: str
    label: Label
    previous_label: str | None
    status: str
    previous_status: str


def _event(
    db: sqlite_utils.Database, mention_id: str, at: str, who: str | None, action: str, value: str
) -> None:
    db.execute(
        "INSERT INTO mention_events (mention_id, at, who, action, value) VALUES (?, ?, ?, ?, ?)",
        [mention_id, at, who, action, value],
    )


def status_before_irrelevant(db: sqlite_utils.Database, mention_id: str) -> str:
    """The newest status in the mention's history that is not ``irrelevant``."""
    row = db.execute(
        "SELECT value FROM mention_events WHERE mention_id = ? AND action = 'status' "
        "AND value IS NOT NULL AND value != ? ORDER BY id DESC LIMIT 1",
        [mention_id, IRRELEVANT],
    ).fetchone()
    return str(row[0]) if row else DEFAULT_STATUS


def set_label(
    db: sqlite_utils.Database,
    mention_id: str,
    label: Label,
    *,
    who: str | None,
    at: datetime | None = None,
) -> Labelled:
    """Label one mention (full id) inside the caller's transaction."""
    when = str(to_iso(at or utcnow()))
    row = db.execute("SELECT status FROM mentions WHERE id = ?", [mention_id]).fetchone()
    if row is None:
        raise ConfigError(f"no mention with id {mention_id!r}")
    status_before = str(row[0])
    old = db.execute("SELECT label FROM labels WHERE mention_id = ?", [mention_id]).fetchone()
    db.execute(
        """INSERT INTO labels (mention_id, label, labelled_by, labelled_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (mention_id) DO UPDATE SET label = excluded.label,
           labelled_by = excluded.labelled_by, labelled_at = excluded.labelled_at""",
        [mention_id, label, who, when],
    )
    # Every act is history, a repeated one too: it says who confirmed the label, and when.
    _event(db, mention_id, when, who, "label", label)
    status: str
    if label == IRRELEVANT:
        status = IRRELEVANT
    elif status_before == IRRELEVANT:
        status = status_before_irrelevant(db, mention_id)
    else:
        status = status_before  # relevant leaves an inbox status (open, responded...) alone
    if status != status_before:
        db.execute("UPDATE mentions SET status = ? WHERE id = ?", [status, mention_id])
        _event(db, mention_id, when, who, "status", status)
    return Labelled(
        mention_id=mention_id,
        label=label,
        previous_label=str(old[0]) if old else None,
        status=status,
        previous_status=status_before,
    )


def label_mentions(
    db: sqlite_utils.Database,
    mention_ids: Sequence[str],
    label: Label,
    *,
    who: str | None,
    at: datetime | None = None,
) -> list[Labelled]:
    """Label several mentions (full ids) in one transaction: all or none."""
    when = at or utcnow()
    with transaction(db):
        return [set_label(db, mid, label, who=who, at=when) for mid in mention_ids]


def current_labels(db: sqlite_utils.Database, mention_ids: Iterable[str]) -> dict[str, str]:
    ids = list(mention_ids)
    found: dict[str, str] = {}
    for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT mention_id, label FROM labels WHERE mention_id IN ({marks})"  # noqa: S608
        found.update((str(a), str(b)) for a, b in db.execute(sql, chunk).fetchall())
    return found


def to_label(
    db: sqlite_utils.Database, *, brand: str | None = None, unlabelled: bool = False
) -> list[str]:
    """Mention ids to show one by one, newest first (as ``mentions`` lists them)."""
    sql = (
        "SELECT m.id FROM mentions m JOIN posts p ON p.rowid = m.post_row "
        "LEFT JOIN labels l ON l.mention_id = m.id WHERE 1"
    )
    params: list[Any] = []
    if brand is not None:
        sql += " AND m.brand = ? COLLATE NOCASE"
        params.append(brand)
    if unlabelled:
        sql += " AND l.mention_id IS NULL"
    sql += " ORDER BY COALESCE(p.published, p.fetched) DESC, m.id"
    return [str(r[0]) for r in db.execute(sql, params).fetchall()]


# ----------------------------------------------------------------------------- precision


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval for a proportion of ``successes`` in ``n`` trials.

    Unlike the normal approximation p ± z·sqrt(p(1-p)/n), it stays inside [0, 1] and
    is not empty at 0/n or n/n: what small, lopsided label counts need.
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Counts:
    relevant: int = 0
    irrelevant: int = 0
    unlabelled: int = 0

    @property
    def labelled(self) -> int:
        return self.relevant + self.irrelevant

    @property
    def mentions(self) -> int:
        return self.labelled + self.unlabelled

    @property
    def precision(self) -> float | None:
        """None without labels: no precision is known, which is not 0%."""
        return self.relevant / self.labelled if self.labelled else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.relevant, self.labelled) if self.labelled else None

    def add(self, label: str | None, n: int = 1) -> Counts:
        """``n`` more mentions with this label (None: unlabelled; n < 0 takes away)."""
        return Counts(
            self.relevant + n * (label == "relevant"),
            self.irrelevant + n * (label == IRRELEVANT),
            self.unlabelled + n * (label is None),
        )

    def as_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "mentions": self.mentions,
            "labelled": self.labelled,
            "relevant": self.relevant,
            "irrelevant": self.irrelevant,
            "unlabelled": self.unlabelled,
            "precision": self.precision,
            "interval": list(interval) if interval else None,
        }


@dataclass(frozen=True, slots=True)
class KeywordPrecision:
    keyword: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class NoiseSource:
    """``irrelevant`` of the brand's ``of`` irrelevant mentions matched ``keyword``."""

    keyword: str
    irrelevant: int
    of: int


@dataclass(frozen=True, slots=True)
class BrandPrecision:
    brand: str
    counts: Counts
    keywords: tuple[KeywordPrecision, ...] = ()
    noisiest: tuple[NoiseSource, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            **self.counts.as_dict(),
            "keywords": [{"keyword": k.keyword, **k.counts.as_dict()} for k in self.keywords],
            "noisiest": [
                {"keyword": n.keyword, "irrelevant": n.irrelevant, "of": n.of}
                for n in self.noisiest
            ],
        }


def noisiest(irrelevant_by_keyword: dict[str, set[str]], total: int) -> tuple[NoiseSource, ...]:
    """The fewest keywords (at most NOISIEST) that between them matched more than half
    of the irrelevant mentions, most first. A mention matching two of them counts for
    each, so the numbers may add up to more than the total; coverage counts it once."""
    terms: dict[str, set[str]] = defaultdict(set)
    for keyword, ids in irrelevant_by_keyword.items():
        for mention_id in ids:
            terms[mention_id].add(keyword)
    groups: Counter[frozenset[str]] = Counter(frozenset(t) for t in terms.values())
    return noisiest_groups(groups, total)


def noisiest_groups(groups: Counter[frozenset[str]], total: int) -> tuple[NoiseSource, ...]:
    """:func:`noisiest` from how many irrelevant mentions matched each set of keywords:
    the counts the report keeps, so no mention has to be read one by one."""
    if not total:
        return ()
    per_keyword: Counter[str] = Counter()
    for keys, n in groups.items():
        for keyword in keys:
            per_keyword[keyword] += n
    ranked = sorted(
        ((kw, n) for kw, n in per_keyword.items() if n > 0), key=lambda kv: (-kv[1], kv[0])
    )
    chosen: list[NoiseSource] = []
    covered: set[frozenset[str]] = set()
    for keyword, n in ranked[:NOISIEST]:
        mine = {keys for keys, m in groups.items() if keyword in keys and m > 0}
        if mine <= covered:
            continue  # adds nothing the keywords before it did not already explain
        chosen.append(NoiseSource(keyword, n, total))
        covered |= mine
        if 2 * sum(groups[keys] for keys in covered) > total:
            break
    return tuple(chosen)


def precision_report(
    db: sqlite_utils.Database, *, brand: str | None = None, since: datetime | None = None
) -> list[BrandPrecision]:
    """Per stored brand (or only ``brand``), labelled counts and precision, overall and
    per matched keyword; a mention counts once for each keyword it matched."""
    try:
        groups = _counted_groups(db, brand) if since is None else _groups_since(db, brand, since)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read labels: {exc}") from None
    brands: dict[str, Counts] = {}
    keywords: dict[str, dict[str, Counts]] = defaultdict(dict)
    noise: dict[str, Counter[frozenset[str]]] = defaultdict(Counter)
    for name, matched, label, n in groups:
        brands[name] = brands.get(name, Counts()).add(label, n)
        per = keywords[name]
        terms = _terms(matched)
        for term in terms:  # once per mention, in order
            per[term] = per.get(term, Counts()).add(label, n)
        if label == IRRELEVANT:
            noise[name][frozenset(terms)] += n
    report = []
    for name in sorted(brands, key=str.casefold):
        per = keywords[name]
        ranked = sorted(per.items(), key=lambda kv: (-kv[1].mentions, kv[0].casefold()))
        report.append(
            BrandPrecision(
                brand=name,
                counts=brands[name],
                keywords=tuple(KeywordPrecision(k, c) for k, c in ranked),
                noisiest=noisiest_groups(noise[name], brands[name].irrelevant),
            )
        )
    return report


Group = tuple[str, str, str | None, int]  # brand, matched, label (None: unlabelled), mentions


def _counted_groups(db: sqlite_utils.Database, brand: str | None) -> list[Group]:
    """From the counts triggers keep (migration 008): a few rows, however many mentions."""
    sql = "SELECT brand, matched, label, n FROM term_labels WHERE n != 0"
    params: list[Any] = []
    if brand is not None:
        sql += " AND brand = ? COLLATE NOCASE"
        params.append(brand)
    return [(b, m, label or None, n) for b, m, label, n in db.execute(sql, params)]


def _groups_since(db: sqlite_utils.Database, brand: str | None, since: datetime) -> list[Group]:
    """Counted in SQLite over the mentions since ``since`` (the posts_at index), and
    only the labelled ones (few) row by row. Unlabelled = all - labelled."""
    where = " AND COALESCE(p.published, p.fetched) >= ?"
    params: list[Any] = [to_iso(since)]
    if brand is not None:
        where += " AND m.brand = ? COLLATE NOCASE"
        params.append(brand)
    rows = " FROM mentions m JOIN posts p ON p.rowid = m.post_row"
    totals = db.execute(
        f"SELECT m.brand, m.matched, count(*){rows} WHERE 1{where} GROUP BY 1, 2",
        params,
    ).fetchall()
    labelled = db.execute(
        f"SELECT m.brand, m.matched, l.label, count(*){rows}"
        f" JOIN labels l ON l.mention_id = m.id WHERE 1{where} GROUP BY 1, 2, 3",
        params,
    ).fetchall()
    groups: list[Group] = [(b, m, None, n) for b, m, n in totals]
    # Each labelled mention moves from its group's unlabelled count to its label.
    groups += [(b, m, label, n) for b, m, label, n in labelled]
    groups += [(b, m, None, -n) for b, m, _, n in labelled]
    return groups


def _terms(matched: str | None) -> list[str]:
    """The distinct configured terms of a mention's ``matched`` JSON, in order."""
    try:
        terms = json.loads(matched or "[]")
    except json.JSONDecodeError:
        terms = []
    return list(dict.fromkeys(str(t) for t in terms))


def report_json(report: Sequence[BrandPrecision]) -> dict[str, Any]:
    """The precision report as data (``precision --format json``)."""
    return {
        "confidence": CONFIDENCE,
        "labelled": sum(b.counts.labelled for b in report),
        "brands": [b.as_dict() for b in report],
    }


def noise_text(noise: Sequence[NoiseSource]) -> str:
    """``'apple' (12 of 15), 'pie' (3 of 15)``."""
    return ", ".join(f"{n.keyword!r} ({n.irrelevant} of {n.of})" for n in noise)
