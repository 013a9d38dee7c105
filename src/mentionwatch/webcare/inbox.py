"""The webcare inbox: mention statuses, assignment, notes and their history, response-time
targets, and the priority that orders what needs handling, with the reasons for each rank.

Statuses: ``new`` (as stored) → ``open`` (someone took it: assigned, or opened) →
``responded`` | ``ignored``; ``irrelevant`` comes from relevance labels (webcare.labels) and
keeps a mention out of the inbox. Every change is a row in ``mention_events`` (who,
when, action, value), written in the same transaction as the change itself.

Priority (``mentionwatch inbox`` order; first = handle first)
------------------------------------------------------------
Mentions are sorted by, in this order:

1. policy flags: flagged mentions first, the most severe flag first
   (critical > high > medium > low > none);
2. overdue (past its response-time target) before not overdue;
3. score = tone * audience * freshness, the digest's priority
   (:func:`priority`, which the digest uses too): tone = max(0.25, 1 - sentiment) (sentiment
   toward the brand, -1 → 2.0, 0 → 1.0), audience = 1 + log10(1 + reach),
   freshness = 0.5 ** (age in hours / 24);
4. then newer first, then by id (a stable order).

So a negative post with a large audience outranks a neutral one few people saw, anything
overdue outranks what is still within its target, and a policy flag outranks everything.
Among overdue mentions the fresher ones come first: they are the ones still worth saving.

Response-time targets
---------------------
A mention's target is the stricter (shorter) of its brand's ``respond_within`` and the
``inbox.respond_within`` target of its sentiment label: a team that promised both has
to meet both. It is due at (published, else fetched) + target, and overdue once that has
passed while its status is still ``new`` or ``open``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from ..analysis.priority import ceiling, lowest_key, priority_by_age
from ..config.inbox import DEFAULT_HORIZON, SENTIMENT_LABELS
from ..config.loader import Config
from ..config.policy import SEVERITY_RANK
from ..errors import ConfigError
from ..store.db import resolve_mention_ids, transaction
from ..timeutil import from_iso, to_iso
from . import labels
from .policy import Flag, flags_for
from .topn import Best, DescendingId

ACTIVE: tuple[str, ...] = ("new", "open")  # what needs handling
LISTABLE: tuple[str, ...] = ("new", "open", "responded", "ignored")  # inbox --status
SETTABLE: tuple[str, ...] = ("open", "responded", "ignored")  # open / done / ignore
EXCERPT_CHARS = 400

# ------------------------------------------------------------------------ wording


def priority(sentiment: float | None, reach: int | None, at: datetime, now: datetime) -> float:
    """How much a mention needs an answer (see the module docstring); the digest
    orders its lists by it too."""
    return priority_by_age(sentiment, reach, (now - at).total_seconds() / 3600)


def register_priority(db: sqlite_utils.Database) -> None:
    """Make ``mw_priority(sentiment, reach, age_hours)`` callable from this connection's SQL."""
    db.conn.create_function("mw_priority", 3, priority_by_age, deterministic=True)


def target_sql(config: Config | None) -> tuple[str, list[Any]]:
    """An SQL expression over ``brand`` and ``label`` giving :func:`response_target` in
    seconds (NULL: no target), with its parameters: lets SQL tell overdue mentions apart."""
    if config is None:
        return "NULL", []
    whens: list[str] = []
    params: list[Any] = []
    for b in config.brands:
        for label in SENTIMENT_LABELS:
            target = response_target(config, b.name, label)
            if target is not None:
                whens.append("WHEN brand = ? COLLATE NOCASE AND label = ? THEN ?")
                params += [b.name, label, target.total_seconds()]
    for label in SENTIMENT_LABELS:  # brands not configured: the label's target alone
        target = config.inbox.target(label) if config.inbox is not None else None
        if target is not None:
            whens.append("WHEN label = ? THEN ?")
            params += [label, target.total_seconds()]
    if not whens:
        return "NULL", []
    return f"(CASE {' '.join(whens)} END)", params


def answerable(config: Config | None, brand: str) -> bool:
    """Whether mentions of ``brand`` are ours to answer: not a competitor's or a topic's
    (config ``role:``). Without a config, and for a brand no longer configured, yes."""
    if config is None:
        return True
    for b in config.brands:
        if b.name.casefold() == brand.casefold():
            return b.answerable
    return True


def response_target(config: Config | None, brand: str, label: str | None) -> timedelta | None:
    """How soon a mention of ``brand`` with this sentiment label should be answered: the
    stricter (shorter) of the brand's ``respond_within`` and the `inbox:` target for the
    label (a team that promised both has to meet both). None: no target."""
    if config is None or not answerable(config, brand):
        return None
    targets: list[timedelta] = []
    for b in config.brands:
        if b.name.casefold() == brand.casefold() and b.respond_within is not None:
            targets.append(b.respond_within)
    if config.inbox is not None:
        by_label = config.inbox.target(label)
        if by_label is not None:
            targets.append(by_label)
    return min(targets, default=None)


def span_text(delta: timedelta) -> str:
    """A duration for people, at most two units: 45m, 3h, 3h 20m, 2d 4h, 3w."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days >= 14:
        return f"{days // 7}w"
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def reach_text(reach: int) -> str:
    """12k, 1.2k, 950, 3.4M."""
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if reach >= size:
            value = reach / size
            return f"{value:.1f}{unit}".replace(".0", "") if value < 10 else f"{value:.0f}{unit}"
    return str(reach)


# ------------------------------------------------------------------------ the inbox


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One mention as the inbox shows it, with its place in the order and why."""

    id: str
    brand: str
    source: str
    url: str
    title: str
    excerpt: str
    author: str
    at: datetime  # published, else fetched
    sentiment: float | None
    sentiment_label: str
    reach: int | None
    status: str
    assignee: str | None
    flags: tuple[Flag, ...]  # most severe first
    score: float  # tone * audience * freshness
    due: datetime | None  # when the response-time target runs out
    overdue_by: timedelta | None  # None: not overdue
    reasons: tuple[str, ...]
    rank: int = 0  # 1 = handle first
    undated: bool = False  # the source gave no date: ``at`` is when it was fetched

    @property
    def severity(self) -> int:
        return SEVERITY_RANK.get(self.flags[0].severity, 0) if self.flags else 0

    @property
    def overdue(self) -> bool:
        return self.overdue_by is not None

    @property
    def reason(self) -> str:
        return " · ".join(self.reasons)

    def as_record(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "id": self.id,
            "status": self.status,
            "assignee": self.assignee,
            "brand": self.brand,
            "source": self.source,
            "url": self.url,
            "title": self.title,
            "excerpt": self.excerpt,
            "author": self.author,
            "at": to_iso(self.at),
            "sentiment": self.sentiment,
            "sentiment_label": self.sentiment_label,
            "reach": self.reach,
            "flags": [f"{f.rule} ({f.severity})" for f in self.flags],
            "overdue": self.overdue,
            "due": to_iso(self.due),
            "priority": self.score,
            "reason": self.reason,
            "undated": self.undated,
        }


INBOX_FIELDS = (
    "rank", "id", "status", "assignee", "brand", "source", "url", "title", "author", "at",
    "sentiment", "sentiment_label", "reach", "flags", "overdue", "due", "priority", "reason",
    "undated",
)  # fmt: skip


def sort_key(item: InboxItem) -> tuple[int, int, float, float, str]:
    """The documented order (module docstring): flags, overdue, score, newer, id."""
    return (-item.severity, -int(item.overdue), -item.score, -item.at.timestamp(), item.id)


_SELECT = """
SELECT m.id, m.brand, m.status, m.assignee, m.sentiment, m.sentiment_label, p.source,
       p.url, p.title, substr(p.text, 1, 2000) AS text, p.author, p.reach,
       COALESCE(p.published, p.fetched) AS at, p.published IS NULL AS undated
FROM mentions m JOIN posts p ON p.rowid = m.post_row
"""


WALK_BUDGET = 20_000  # rows the newest-first walk reads before SQL ranks the horizon


def inbox(
    db: sqlite_utils.Database,
    config: Config | None,
    *,
    now: datetime,
    statuses: Sequence[str] = ACTIVE,
    assignee: str | None = None,
    brand: str | None = None,
    limit: int | None = None,
    walk_budget: int = WALK_BUDGET,
) -> list[InboxItem]:
    """What needs handling (``statuses``), highest priority first, ranked from 1.

    ``walk_budget``: how many rows the newest-first walk (:func:`_walked_ids`) may read
    before SQL ranks the whole horizon instead (0: SQL at once)."""
    for status in statuses:
        if status not in LISTABLE:
            raise ConfigError(
                f"--status: expected one of {', '.join(LISTABLE)}, got {status!r}"
                + (" (irrelevant mentions stay out of the inbox)" if status == "irrelevant" else "")
            )
    horizon = config.inbox.horizon if config is not None and config.inbox else DEFAULT_HORIZON
    rows = _candidates(config, now - horizon, statuses, assignee, brand)
    ids = None
    if limit is not None and walk_budget > 0:
        ids = _walked_ids(db, rows, config, now, statuses, limit, walk_budget)
    if ids is None:
        ids = _ranked_ids(db, rows, config, now, limit)
    found = []
    for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = ids[i : i + 500]
        found += list(db.query(_SELECT + f" WHERE m.id IN ({','.join('?' * len(chunk))})", chunk))
    flags = flags_for(db, [r["id"] for r in found])
    items = [_item(r, flags.get(r["id"], []), config, now) for r in found]
    # SQL or the walk chose them; the same order again from the items themselves.
    items.sort(key=sort_key)
    return [replace(item, rank=i) for i, item in enumerate(items, 1)]


_SEVERITY_SQL = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in SEVERITY_RANK.items())
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _micros(dt: datetime) -> int:
    """Microseconds since the epoch, exactly: ages worked out from it in integers equal
    the ``now - at`` that :func:`_item` works out with datetimes, to the last bit."""
    return (dt - _EPOCH) // _US


@dataclass(frozen=True, slots=True)
class _Rows:
    """The inbox's candidates (posts ``p`` joined to mentions ``m``) as an SQL condition
    and its parameters."""

    oldest: str
    where: str
    params: tuple[Any, ...]


def _candidates(
    config: Config | None,
    oldest: datetime,
    statuses: Sequence[str],
    assignee: str | None,
    brand: str | None,
) -> _Rows:
    """Within the horizon, of the statuses asked for, and of brands ours to answer."""
    where = [
        "COALESCE(p.published, p.fetched) >= ?",
        f"m.status IN ({','.join('?' * len(statuses))})",
    ]
    params: list[Any] = [to_iso(oldest), *statuses]
    if assignee is not None:
        where.append("m.assignee = ? COLLATE NOCASE")
        params.append(assignee)
    if brand is not None:
        where.append("m.brand = ? COLLATE NOCASE")
        params.append(brand)
    # Competitors and topics (config `role:`) are counted elsewhere but not ours to answer.
    others = [b.name for b in config.brands if not b.answerable] if config is not None else []
    if others:
        where.append(f"m.brand COLLATE NOCASE NOT IN ({','.join('?' * len(others))})")
        params += others
    return _Rows(str(params[0]), " AND ".join(where), tuple(params))


def _ranked_ids(
    db: sqlite_utils.Database, rows: _Rows, config: Config | None, now: datetime, limit: int | None
) -> list[str]:
    """The ids of the inbox's first ``limit`` mentions in the documented order, ranked by
    SQLite over the whole horizon (flags, overdue, priority, newer, id)."""
    register_priority(db)
    target, target_params = target_sql(config)
    active = ",".join(f"'{s}'" for s in ACTIVE)
    # Ages in whole microseconds, as the walk and _item work them out (see _micros).
    sql = f"""
        WITH c AS (
            SELECT m.id AS id, m.status AS status, m.brand AS brand,
                   COALESCE(m.sentiment_label, 'neutral') AS label, m.sentiment AS sentiment,
                   p.reach AS reach,
                   ? - CAST(strftime('%s', COALESCE(p.published, p.fetched)) AS INTEGER)
                       * 1000000 AS age_us,
                   COALESCE(p.published, p.fetched) AS at
            FROM posts p JOIN mentions m ON m.post_row = p.rowid
            WHERE {rows.where}
        )
        SELECT id FROM c ORDER BY
            COALESCE((SELECT max(CASE f.severity {_SEVERITY_SQL} ELSE 0 END)
                      FROM mention_flags f WHERE f.mention_id = c.id), 0) DESC,
            COALESCE(status IN ({active}) AND age_us > {target} * 1000000, 0) DESC,
            mw_priority(sentiment, reach, age_us / 1000000.0 / 3600) DESC,
            at DESC, id
        """  # noqa: S608 -- only our own constants are formatted in; values are bound
    params = [_micros(now), *rows.params, *target_params]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [r[0] for r in db.execute(sql, params)]


def _any_target(config: Config | None) -> bool:
    """Whether any mention can have a response-time target: a brand's ``respond_within``
    (answerable brands), or a sentiment label's, which applies to every brand."""
    if config is None:
        return False
    by_label = config.inbox is not None and any(
        config.inbox.target(label) is not None for label in SENTIMENT_LABELS
    )
    return by_label or any(b.answerable and b.respond_within is not None for b in config.brands)


# The walk's columns (what its key needs, then the stored priority key), in priority
# order: migration 010's index read from the top, each row's post looked up by its id.
_WALK = """
SELECT m.id, m.brand, m.status, COALESCE(m.sentiment_label, 'neutral'), m.sentiment, p.reach,
       CAST(strftime('%s', COALESCE(p.published, p.fetched)) AS INTEGER), {severity},
       m.priority_key
FROM {joined}
WHERE {where}
"""
_BY_KEY = "mentions m INDEXED BY mentions_priority CROSS JOIN posts p ON p.rowid = m.post_row"
# From the flags: their cost follows how many mentions were ever flagged, not the horizon.
_FLAGGED = """(SELECT DISTINCT mention_id FROM mention_flags) f
    CROSS JOIN mentions m ON m.id = f.mention_id CROSS JOIN posts p ON p.rowid = m.post_row"""


def _walked_ids(
    db: sqlite_utils.Database,
    rows: _Rows,
    config: Config | None,
    now: datetime,
    statuses: Sequence[str],
    limit: int,
    budget: int,
) -> list[str] | None:
    """The same ids as :func:`_ranked_ids`, from reading the horizon in priority order
    and stopping once nothing further down can still rank; None when ``budget`` rows
    did not settle it (a filter few mentions match), for SQL to rank the horizon instead.

    Flagged mentions (few: a policy rule names them) are read first, by themselves, and
    so are mentions whose priority key is not known. Every other mention ranks below
    them, by (overdue, priority, newer, id), and comes from the ``priority_key`` index,
    highest first (analysis.priority): no mention further down scores above the
    ceiling of the key reached. One further down can at most be overdue when some
    target applies to the statuses asked for. Once the ``limit``-th best found ranks
    above both, the walk stops. Its length follows how many mentions it shows and how
    they spread in priority, not how many the horizon holds."""
    if limit <= 0:
        return []
    now_us = _micros(now)
    targets: dict[tuple[str, str], int | None] = {}

    def key(
        mid: str, brand: str, status: str, label: str, sentiment: Any, reach: Any, ts: int, sev: int
    ) -> tuple[Any, ...]:
        age_us = now_us - ts * 1_000_000
        overdue = False
        if status in ACTIVE:
            if (brand, label) not in targets:
                t = response_target(config, brand, label)
                targets[brand, label] = None if t is None else t // _US
            target = targets[brand, label]
            overdue = target is not None and age_us > target
        pr = priority_by_age(sentiment, reach, age_us / 1_000_000 / 3600)
        return (sev, int(overdue), pr, ts, DescendingId(mid))

    best = Best(limit)
    severity = f"""(SELECT max(CASE f.severity {_SEVERITY_SQL} ELSE 0 END)
                    FROM mention_flags f WHERE f.mention_id = m.id)"""  # noqa: S608 -- constants
    first = db.execute(
        _WALK.format(severity=severity, joined=_FLAGGED, where=rows.where), rows.params
    ).fetchall()
    first += db.execute(
        _WALK.format(
            severity="0", joined=_BY_KEY, where="m.priority_key IS NULL AND " + rows.where
        ),
        rows.params,
    ).fetchall()
    skip: set[str] = set()
    for row in first:
        if row[0] not in skip:
            best.add(key(*row[:8]), row[0])
            skip.add(row[0])
    # Can a mention not yet read turn out overdue? Only an active one with a target.
    overdue_possible = int(any(s in ACTIVE for s in statuses) and _any_target(config))
    oldest = from_iso(rows.oldest)
    assert oldest is not None  # our own ISO string
    by_key = _WALK.format(
        severity="0", joined=_BY_KEY, where="m.priority_key >= ? AND " + rows.where
    )
    cursor = db.execute(
        by_key + " ORDER BY m.priority_key DESC", [lowest_key(oldest), *rows.params]
    )
    seen = 0
    # Checked every few rows more than are shown: a bigger chunk only reads past the stop.
    size = min(500, max(64, 2 * limit))
    try:
        while True:
            chunk = cursor.fetchmany(size)
            if not chunk:
                return best.ids()  # the whole horizon was read
            for row in chunk:
                if row[0] not in skip:
                    best.add(key(*row[:8]), row[0])
            seen += len(chunk)
            # Nothing further down can rank above this (the 1e-4: priorities are
            # rounded to four places).
            top = ceiling(chunk[-1][8], now) + 1e-4
            floor = best.floor()
            if floor is not None and floor[:3] > (0, overdue_possible, top):
                return best.ids()
            if seen >= budget:
                return None
    finally:
        cursor.close()


def _item(
    row: dict[str, Any], flag_rows: list[dict[str, Any]], config: Config | None, now: datetime
) -> InboxItem:
    at = from_iso(row["at"]) or now
    label = row["sentiment_label"] or "neutral"
    flags = tuple(Flag(row["id"], f["rule"], f["severity"], f["reason"] or "") for f in flag_rows)
    target = response_target(config, row["brand"], label)
    due = at + target if target is not None else None
    overdue_by = None
    if due is not None and row["status"] in ACTIVE and now > due:
        overdue_by = now - due
    reasons = [f"flag: {f.rule} ({f.severity})" for f in flags]
    if overdue_by is not None:
        reasons.append(f"overdue {span_text(overdue_by)}")
    elif due is not None and row["status"] in ACTIVE:
        reasons.append(f"due in {span_text(due - now)}")
    score = row["sentiment"]
    reasons.append(f"{label} {score:+.2f}" if score is not None else label)
    if row["reach"] is not None:
        reasons.append(f"reach {reach_text(row['reach'])}")
    reasons.append(f"{span_text(now - at)} old")
    text = " ".join((row["text"] or "").split())
    return InboxItem(
        id=row["id"],
        brand=row["brand"],
        source=row["source"],
        url=row["url"] or "",
        title=row["title"] or "",
        excerpt=text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…",
        author=row["author"] or "",
        at=at,
        sentiment=score,
        sentiment_label=label,
        reach=row["reach"],
        status=row["status"],
        assignee=row["assignee"],
        flags=flags,
        score=priority(score, row["reach"], at, now),
        due=due,
        overdue_by=overdue_by,
        reasons=tuple(reasons),
        undated=bool(row["undated"]),
    )


# ------------------------------------------------------------------------ changes


@dataclass(frozen=True, slots=True)
class Changed:
    """What one command did: the mentions it resolved, and how many it changed."""

    ids: tuple[str, ...]
    changed: int  # mentions whose status or assignee changed
    events: int  # history rows written


def _event(
    db: sqlite_utils.Database, mention_id: str, at: str, who: str | None, action: str, value: str
) -> None:
    db.execute(
        "INSERT INTO mention_events (mention_id, at, who, action, value) VALUES (?, ?, ?, ?, ?)",
        [mention_id, at, who, action, value],
    )


def _current(db: sqlite_utils.Database, mention_id: str) -> tuple[str, str | None]:
    status, assignee = db.execute(
        "SELECT status, assignee FROM mentions WHERE id = ?", [mention_id]
    ).fetchone()
    return str(status), assignee


def _note(text: str | None) -> str | None:
    if text is None:
        return None
    if not text.strip():
        raise ConfigError("the note is empty")
    return text.strip()


def set_status(
    db: sqlite_utils.Database,
    idents: Sequence[str],
    status: str,
    *,
    who: str | None,
    now: datetime,
    note: str | None = None,
) -> Changed:
    """``open``, ``responded`` or ``ignored`` for every id (or unique prefix), with an
    optional note, in one transaction: an unknown id writes nothing (ConfigError)."""
    if status not in SETTABLE:
        raise ConfigError(f"cannot set status {status!r}: expected {', '.join(SETTABLE)}")
    text = _note(note)
    at = str(to_iso(now))
    changed = events = 0
    with transaction(db):
        ids = resolve_mention_ids(db, idents)
        for mid in ids:
            before, _ = _current(db, mid)
            if before != status:
                db.execute("UPDATE mentions SET status = ? WHERE id = ?", [status, mid])
                _event(db, mid, at, who, "status", status)
                changed += 1
                events += 1
            if text is not None:
                _event(db, mid, at, who, "note", text)
                events += 1
    return Changed(tuple(ids), changed, events)


def assign(
    db: sqlite_utils.Database,
    idents: Sequence[str],
    assignee: str,
    *,
    who: str | None,
    now: datetime,
    note: str | None = None,
) -> Changed:
    """Give the mentions to ``assignee``; a ``new`` one becomes ``open`` (someone has it)."""
    name = assignee.strip()
    if not name:
        raise ConfigError("give the name to assign to")
    text = _note(note)
    at = str(to_iso(now))
    changed = events = 0
    with transaction(db):
        ids = resolve_mention_ids(db, idents)
        for mid in ids:
            status, before = _current(db, mid)
            touched = False
            if before != name:
                db.execute("UPDATE mentions SET assignee = ? WHERE id = ?", [name, mid])
                _event(db, mid, at, who, "assign", name)
                touched = True
                events += 1
            if status == "new":
                db.execute("UPDATE mentions SET status = 'open' WHERE id = ?", [mid])
                _event(db, mid, at, who, "status", "open")
                touched = True
                events += 1
            if text is not None:
                _event(db, mid, at, who, "note", text)
                events += 1
            changed += touched
    return Changed(tuple(ids), changed, events)


def add_note(
    db: sqlite_utils.Database, ident: str, text: str, *, who: str | None, now: datetime
) -> Changed:
    """A timestamped note in the mention's history."""
    body = _note(text)
    assert body is not None
    with transaction(db):
        ids = resolve_mention_ids(db, [ident])
        for mid in ids:
            _event(db, mid, str(to_iso(now)), who, "note", body)
    return Changed(tuple(ids), 0, len(ids))


def mark_irrelevant(
    db: sqlite_utils.Database, idents: Sequence[str], *, who: str | None, now: datetime
) -> Changed:
    """Label the mentions irrelevant (webcare.labels: a labels row, status ``irrelevant``,
    ``label`` and ``status`` events), which takes them out of the inbox."""
    changed = 0
    with transaction(db):
        ids = resolve_mention_ids(db, idents)
        for mid in ids:
            done = labels.set_label(db, mid, "irrelevant", who=who, at=now)
            changed += done.status != done.previous_status
    return Changed(tuple(ids), changed, len(ids))


# ------------------------------------------------------------------------ reading


def history(db: sqlite_utils.Database, mention_id: str) -> list[dict[str, Any]]:
    """The mention's events, oldest first: at, who, action, value."""
    return list(
        db.query(
            "SELECT at, who, action, value FROM mention_events WHERE mention_id = ?"
            " ORDER BY at, id",
            [mention_id],
        )
    )


def details(db: sqlite_utils.Database, mention_id: str) -> dict[str, Any]:
    """What `show` adds to a mention record: assignee, policy flags, history."""
    row = db.execute("SELECT assignee FROM mentions WHERE id = ?", [mention_id]).fetchone()
    return {
        "assignee": row[0] if row else None,
        "flags": flags_for(db, [mention_id]).get(mention_id, []),
        "history": history(db, mention_id),
    }
