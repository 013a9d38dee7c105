"""Re-score stored mentions with the current sentiment engine, so that upgrading the
model (or switching engines) upgrades history, not only what the next scan finds.

Each mention is scored exactly as ``scan`` scored it (analysis.sentiment.analyze_mention
on the stored title, text, spans and language), in batches of :data:`BATCH` mentions,
each batch written in its own transaction: an interrupted re-score keeps what it did
and can simply be run again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from .analysis.priority import priority_key
from .analysis.sentiment import analyze_mention
from .models import Span
from .store.db import transaction
from .timeutil import from_iso, to_iso

BATCH = 500


@dataclass(frozen=True, slots=True)
class RescoreReport:
    mentions: int  # re-scored
    changed: int  # whose label changed
    languages: int  # posts whose language was detected and stored now


def count(db: sqlite_utils.Database, *, since: datetime | None = None) -> int:
    """How many mentions a re-score since ``since`` would visit (for a progress bar)."""
    where, params = _where(since)
    row = db.execute(
        f"SELECT count(*) FROM mentions m JOIN posts p ON p.rowid = m.post_row {where}",  # noqa: S608
        params,
    ).fetchone()
    return int(row[0])


def _where(since: datetime | None, *, after_rowid: bool = False) -> tuple[str, list[object]]:
    conditions = ["m.rowid > ?"] if after_rowid else []
    params: list[object] = []
    if since is not None:
        conditions.append("COALESCE(p.published, p.fetched) >= ?")
        params.append(to_iso(since))
    return ("WHERE " + " AND ".join(conditions)) if conditions else "", params


def rescore(
    db: sqlite_utils.Database,
    engine: str,
    *,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> RescoreReport:
    """Re-score every mention (published since ``since``) with ``engine``."""
    where, params = _where(since, after_rowid=True)
    query = f"""SELECT m.rowid, m.id, m.spans, m.sentiment_label, p.id, p.title, p.text, p.lang,
               p.reach, COALESCE(p.published, p.fetched)
        FROM mentions m JOIN posts p ON p.rowid = m.post_row {where}
        ORDER BY m.rowid LIMIT {BATCH}"""  # noqa: S608 (no user text in it)
    last = 0
    mentions = changed = languages = 0
    while True:
        rows = db.execute(query, [last, *params]).fetchall()
        if not rows:
            break
        updates: list[tuple[object, ...]] = []
        keys: list[tuple[float | None, str]] = []
        detected: dict[str, str] = {}
        for _rowid, mid, spans, old_label, pid, title, text, lang, reach, at in rows:
            found = tuple(Span(int(a), int(b), str(t)) for a, b, t in json.loads(spans))
            result = analyze_mention(title, text, found, engine=engine, lang=lang)
            when = from_iso(at)
            key = None if when is None else priority_key(result.score, reach, when)
            updates.append((result.score, result.label, result.engine, mid))
            keys.append((key, mid))
            changed += result.label != old_label
            if lang is None and result.lang is not None:
                detected[pid] = result.lang
        with transaction(db):
            db.conn.executemany(
                "UPDATE mentions SET sentiment = ?, sentiment_label = ?, sentiment_engine = ? "
                "WHERE id = ?",
                updates,
            )
            # After the scores: a changed score marks its key unknown (migration 010).
            db.conn.executemany("UPDATE mentions SET priority_key = ? WHERE id = ?", keys)
            db.conn.executemany(
                "UPDATE posts SET lang = ? WHERE id = ? AND lang IS NULL",
                [(lang, pid) for pid, lang in detected.items()],
            )
        mentions += len(rows)
        languages += len(detected)
        last = rows[-1][0]
        if progress is not None:
            progress(len(rows))
    return RescoreReport(mentions=mentions, changed=changed, languages=languages)
