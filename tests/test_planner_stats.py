"""The planner's statistics hold true row counts (store.stats), so no read of a listing,
the inbox or the digest plans to read a whole table through a Bloom filter."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from mentionwatch.configure import parse_config
from mentionwatch.models import RawItem, Sentiment
from mentionwatch.report.digest import build_digest, make_period
from mentionwatch.store import db as store
from mentionwatch.store import stats
from mentionwatch.webcare import inbox

from .storing import save_mentions

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """\
brands:
  - {name: Acme, keywords: [Acme]}
  - {name: Globex, keywords: [Globex]}
sources: [https://feed.example/a.xml]
inbox: {respond_within: {negative: 3h}}
"""


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    """3,000 mentions (more than the thousand rows ANALYZE samples), statistics taken
    while the policy flags were still empty, then a few flags."""
    db = store.open_db(tmp_path / "m.db")
    rng = random.Random(5)
    for run in range(6):
        found = []
        for i in range(350):
            n = run * 350 + i
            item = RawItem(
                str(n),
                f"https://x.example/{n}",
                f"t{n}",
                "Acme and Globex",
                published=NOW - timedelta(hours=rng.uniform(0, 24 * 20)),
            )
            score = rng.uniform(-1, 1)
            label = "negative" if score < -0.2 else "positive" if score > 0.2 else "neutral"
            for brand in ("Acme", "Globex")[: 1 + n % 2]:
                found.append((item, brand, Sentiment(score, label, "t")))
        save_mentions(db, f"feed{run}", found, NOW - timedelta(days=run))
    with store.transaction(db):
        stats.take_statistics(db)
        for (mid,) in db.execute("SELECT id FROM mentions ORDER BY rowid DESC LIMIT 5").fetchall():
            db.execute(
                "INSERT INTO mention_flags (mention_id, rule, severity, reason, flagged_at)"
                " VALUES (?, 'leak', 'high', 'x', '2026-11-20T11:00:00Z')",
                [mid],
            )
    yield db
    db.close()


def test_statistics_count_every_table(filled: sqlite_utils.Database) -> None:
    db = filled
    counted = {
        t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("posts", "mentions", "mention_flags", "alerts")
    }
    assert counted["mentions"] == 3150
    assert counted["posts"] == 2100
    for table, n in counted.items():
        rows = db.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = ?", [table]).fetchall()
        assert rows, table
        n_before = 0 if table in ("mention_flags", "alerts") else n  # taken before the flags
        assert {int(stat.split()[0]) for _, stat in rows} == {n_before}, (table, rows)


def test_no_read_plans_a_bloom_filter(filled: sqlite_utils.Database) -> None:
    db = filled
    cfg = parse_config(CONFIG)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        shown = inbox.inbox(db, cfg, now=NOW, limit=20)
        digest = build_digest(db, cfg, make_period("30d", end=NOW), limit=10)
        listed = store.query_mentions(db, store.MentionFilter(brand="Globex", limit=50))
    finally:
        db.conn.set_trace_callback(None)
    assert shown[0].flags
    assert digest.total == 3150
    assert len(listed) == 50
    planned = 0
    for sql in dict.fromkeys(statements):
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        planned += any(" m " in f" {step} " or " p " in f" {step} " for step in plan)
        assert not any(step.startswith("BLOOM FILTER") for step in plan), (sql, plan)
    assert planned >= 5  # the reads of mentions and posts were among them
