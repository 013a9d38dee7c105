"""Exactly-once bookkeeping for digests and alerts.

A mention (or alert) counts as delivered to a target only once the server accepted
the message: the caller sends first, then calls :func:`record` which writes the
delivery and what it carried in one transaction. A crash between the server's
"250 OK" and that commit is the one window where a later run sends again; every
other failure (refused, timeout, crash before sending) leaves it undelivered, so
the next run carries it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from ..store.db import transaction
from ..timeutil import to_iso, utcnow


def target_key(recipients: Iterable[str]) -> str:
    """One stable name for a set of recipients (order and case don't matter)."""
    return ",".join(sorted({r.strip().lower() for r in recipients if r.strip()}))


def undelivered(db: sqlite_utils.Database, mention_ids: Sequence[str], target: str) -> list[str]:
    """Those of ``mention_ids`` not yet accepted for ``target``, in the given order."""
    done: set[str] = set()
    for i in range(0, len(mention_ids), 500):
        chunk = list(mention_ids[i : i + 500])
        marks = ",".join("?" * len(chunk))
        done.update(
            row[0]
            for row in db.execute(
                f"SELECT mention_id FROM delivered WHERE target = ? AND mention_id IN ({marks})",  # noqa: S608
                [target, *chunk],
            )
        )
    return [m for m in mention_ids if m not in done]


def undelivered_alerts(db: sqlite_utils.Database, target: str) -> list[int]:
    rows = db.execute(
        """SELECT id FROM alerts WHERE id NOT IN
           (SELECT alert_id FROM alert_deliveries WHERE target = ?) ORDER BY fired, id""",
        [target],
    ).fetchall()
    return [int(r[0]) for r in rows]


def record(
    db: sqlite_utils.Database,
    *,
    kind: str,
    channel: str,
    target: str,
    subject: str | None,
    body: str,
    meta: dict[str, Any] | None = None,
    mention_ids: Sequence[str] = (),
    alert_ids: Sequence[int] = (),
) -> int:
    """Write an accepted delivery and what it carried, atomically. Returns its id."""
    now = to_iso(utcnow())
    with transaction(db):
        cur = db.execute(
            """INSERT INTO deliveries
               (kind, channel, target, created, accepted, subject, body, meta)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [kind, channel, target, now, now, subject, body, json.dumps(meta or {})],
        )
        delivery_id = int(cur.lastrowid or 0)
        db.conn.executemany(
            "INSERT OR IGNORE INTO delivered (mention_id, target, delivery_id) VALUES (?, ?, ?)",
            [(m, target, delivery_id) for m in mention_ids],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO alert_deliveries (alert_id, target, delivery_id)"
            " VALUES (?, ?, ?)",
            [(a, target, delivery_id) for a in alert_ids],
        )
    return delivery_id


def last(
    db: sqlite_utils.Database, *, kind: str, channel: str, target: str | None = None
) -> dict[str, Any] | None:
    """The most recent accepted delivery of this kind (for ``--resend``)."""
    sql = "SELECT * FROM deliveries WHERE kind = ? AND channel = ? AND accepted IS NOT NULL"
    params: list[Any] = [kind, channel]
    if target is not None:
        sql += " AND target = ?"
        params.append(target)
    rows = list(db.query(sql + " ORDER BY id DESC LIMIT 1", params))
    return rows[0] if rows else None
