"""The query planner's statistics (``sqlite_stat1``): taken sampled, with true row counts.

``ANALYZE`` under ``PRAGMA analysis_limit`` reads a thousand rows of each index and
guesses the rest: in a 20k-mention store it put the mentions' primary key at 10k rows
and the posts at 13k. SQLite reads one join's inner table through a Bloom filter when
it expects more outer rows than the inner table has, and builds that filter by reading
the whole inner table: listing the newest 50 mentions then read every mention, and
five policy flags made the inbox read every post of a 1M store (0.2-0.4 s, from 5 ms).
A table ``ANALYZE`` found empty gets no row at all, and SQLite then assumes a million
rows, which is what made the flags look like the larger side. So every table's count is
set to what it holds, counted; the rest of each row (rows per key) stays sampled.
"""

from __future__ import annotations

import sqlite_utils

SAMPLE_ROWS = 1_000  # PRAGMA analysis_limit: rows read per index


def take_statistics(db: sqlite_utils.Database) -> None:
    """Sampled ``ANALYZE``, then each table's true row count in ``sqlite_stat1``."""
    db.execute(f"PRAGMA analysis_limit = {SAMPLE_ROWS}")
    try:
        db.execute("ANALYZE")
    finally:
        db.execute("PRAGMA analysis_limit = 0")
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
        )
    ]
    # A partial index holds fewer rows than its table: its own count stays as sampled.
    partial = {
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"
        )
    }
    for table in tables:
        quoted = table.replace('"', '""')
        rows = db.execute(f'SELECT count(*) FROM "{quoted}"').fetchone()[0]  # noqa: S608
        indexes = db.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = ?", [table]).fetchall()
        if not indexes:
            db.execute(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, NULL, ?)", [table, str(rows)]
            )
            continue
        for (index,) in indexes:
            if index in partial:
                continue
            # The count is the first number; what follows it (rows per key) is kept.
            db.execute(
                "UPDATE sqlite_stat1 SET stat = ? || substr(stat, instr(stat || ' ', ' '))"
                " WHERE tbl = ? AND idx IS ?",
                [str(rows), table, index],
            )
    db.execute("ANALYZE sqlite_schema")  # the planner reads the figures again
