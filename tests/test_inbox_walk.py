"""The inbox's newest-first walk (it stops once nothing older can rank) lists exactly what
SQL's ranking of the whole horizon lists, in the same order, on random stores: flags of
several severities, overdue and not, statuses, assignees, a competitor, undated posts,
ties in time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import sqlite_utils

from mentionwatch.analysis.priority import priority_key, weight
from mentionwatch.analysis.sentiment import label_for
from mentionwatch.config.policy import PolicyRule
from mentionwatch.configure import parse_config
from mentionwatch.models import RawItem, Sentiment
from mentionwatch.store import db as store
from mentionwatch.webcare import inbox as inbox_module
from mentionwatch.webcare.inbox import _candidates, _walked_ids, inbox
from mentionwatch.webcare.policy import PolicyChecker, flag_mentions

from .storing import save_mentions

NOW = datetime(2026, 11, 20, 12, 0, 0, 250_000, tzinfo=UTC)  # not on a whole second
CONFIGS = {
    "targets": """\
brands:
  - {name: Acme, keywords: [Acme], respond_within: 3h}
  - {name: Globex, keywords: [Globex]}
  - {name: Rival, keywords: [Rival], role: competitor}
sources: [https://feed.example/a.xml]
inbox: {respond_within: {negative: 6h}}
""",
    "no targets": """\
brands:
  - {name: Acme, keywords: [Acme]}
  - {name: Globex, keywords: [Globex]}
sources: [https://feed.example/a.xml]
""",
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = store.open_db(tmp_path / "m.db")
    yield database
    database.close()


def fill(db: sqlite_utils.Database, n: int, seed: int) -> None:
    rng = random.Random(seed)
    mentions = []
    times = [NOW - timedelta(seconds=rng.randint(0, 20 * 86400)) for _ in range(n // 3)]
    for i in range(n):
        at = rng.choice(times)  # shared times: ties between posts
        brand = rng.choice(("Acme", "acme", "Globex", "Rival", "Other"))
        leak = rng.random() < 0.03
        urgent = rng.random() < 0.02
        item = RawItem(
            str(i),
            f"https://news.example/{i}",
            f"{brand} {i}",
            "secret plans" if leak else "outage now" if urgent else "a post",
            published=None if rng.random() < 0.05 else at,
            # A few posts with a huge audience: old ones that still outrank fresh ones.
            counters=(("points", int(10 ** rng.uniform(0, 9 if i % 40 == 0 else 4))),)
            if rng.random() < 0.6
            else (),
        )
        score = round(rng.uniform(-1, 1), 2) if rng.random() < 0.9 else 0.0
        label = label_for(score)
        mentions.append((item, brand, Sentiment(score, label, "t")))
    ids = save_mentions(db, "news", mentions, NOW - timedelta(days=rng.choice((1, 3))))
    rules = (
        PolicyRule("leak", "high", ("secret plans",)),
        PolicyRule("outage", "critical", ("outage",)),
        PolicyRule("post", "low", ("a post",)),
    )
    flag_mentions(db, PolicyChecker(rules[:2] if seed % 2 else rules[:1]), ids, now=NOW)
    db.execute("UPDATE mentions SET status = 'open', assignee = 'ann' WHERE rowid % 5 = 0")
    db.execute("UPDATE mentions SET assignee = 'Bob' WHERE rowid % 11 = 0")
    db.execute("UPDATE mentions SET status = 'responded' WHERE rowid % 7 = 0")
    db.execute("UPDATE mentions SET status = 'ignored' WHERE rowid % 13 = 0")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_walk_lists_what_sql_lists(db: sqlite_utils.Database, seed: int, config: str) -> None:
    fill(db, 1500, seed)
    cfg = parse_config(CONFIGS[config])
    cases: list[dict[str, object]] = [
        {},
        {"brand": "acme"},
        {"assignee": "bob"},
        {"statuses": ("responded", "ignored")},
        {"statuses": ("new", "open", "responded")},
    ]
    for case in cases:
        for limit in (1, 5, 20, 80):
            walked = inbox(db, cfg, now=NOW, limit=limit, **case)  # type: ignore[arg-type]
            by_sql = inbox(db, cfg, now=NOW, limit=limit, walk_budget=0, **case)  # type: ignore[arg-type]
            assert walked == by_sql, (case, limit)
    everything = inbox(db, cfg, now=NOW)
    assert inbox(db, cfg, now=NOW, limit=20) == everything[:20]
    assert any(i.flags for i in everything)
    assert any(i.overdue for i in everything) == (config == "targets")


def test_the_walk_stops_early_and_agrees(db: sqlite_utils.Database) -> None:
    """Read far fewer rows than the horizon holds, and still list what SQL lists."""
    fill(db, 3000, 9)
    cfg = parse_config(CONFIGS["targets"])
    horizon = db.execute(
        "SELECT count(*) FROM posts p JOIN mentions m ON m.post_id = p.id"
        " WHERE COALESCE(p.published, p.fetched) >= ? AND m.status IN ('new', 'open')",
        [(NOW - timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")],
    ).fetchone()[0]
    assert horizon > 1000
    rows = _candidates(cfg, NOW - timedelta(days=14), ("new", "open"), None, None)
    # A budget of 500 rows: the walk reads one chunk and must have settled by then.
    walked = _walked_ids(db, rows, cfg, NOW, ("new", "open"), 10, budget=500)
    assert walked is not None
    assert walked == [i.id for i in inbox(db, cfg, now=NOW, limit=10, walk_budget=0)]


def test_mentions_of_unknown_priority_are_read_first(db: sqlite_utils.Database) -> None:
    """A key another tool left out, or a score changed without its key (the trigger of
    migration 010 marks it unknown), costs the walk time, never a wrong list."""
    fill(db, 1500, 5)
    cfg = parse_config(CONFIGS["targets"])
    # Scores changed behind the writer's back: their keys become unknown, not stale.
    db.execute("UPDATE mentions SET sentiment = -sentiment WHERE rowid % 9 = 0")
    db.execute("UPDATE mentions SET priority_key = NULL WHERE rowid % 17 = 0")
    unknown = db.execute("SELECT count(*) FROM mentions WHERE priority_key IS NULL").fetchone()[0]
    assert unknown > 100
    for limit in (1, 20, 80):
        assert inbox(db, cfg, now=NOW, limit=limit) == inbox(
            db, cfg, now=NOW, limit=limit, walk_budget=0
        )


def test_a_changed_score_marks_its_key_unknown(db: sqlite_utils.Database) -> None:
    fill(db, 30, 6)
    mid, key = db.execute(
        "SELECT id, priority_key FROM mentions WHERE sentiment < 0.5 LIMIT 1"
    ).fetchone()
    assert key is not None
    db.execute("UPDATE mentions SET status = 'open' WHERE id = ?", [mid])
    assert db.execute("SELECT priority_key FROM mentions WHERE id = ?", [mid]).fetchone()[0] == key
    db.execute("UPDATE mentions SET sentiment = sentiment + 0.5 WHERE id = ?", [mid])
    assert db.execute("SELECT priority_key FROM mentions WHERE id = ?", [mid]).fetchone()[0] is None


def test_the_walk_reads_the_priority_index_from_the_top(db: sqlite_utils.Database) -> None:
    """No sort of the horizon before the first row: the index gives the order."""
    fill(db, 200, 7)
    cfg = parse_config(CONFIGS["targets"])
    rows = _candidates(cfg, NOW - timedelta(days=14), ("new", "open"), None, None)
    sql = inbox_module._WALK.format(
        severity="0", joined=inbox_module._BY_KEY, where="m.priority_key >= ? AND " + rows.where
    )
    plan = " | ".join(
        r[3]
        for r in db.execute(
            "EXPLAIN QUERY PLAN " + sql + " ORDER BY m.priority_key DESC", [0.0, *rows.params]
        )
    )
    assert "mentions_priority" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_stored_keys_order_mentions_as_their_priority_does(db: sqlite_utils.Database) -> None:
    """What the writer stores is analysis.priority's key of the stored score, reach and
    time; ordering by it is ordering by priority at any moment after them all."""
    fill(db, 300, 8)
    rows = db.execute(
        """SELECT m.priority_key, m.sentiment, p.reach, COALESCE(p.published, p.fetched)
           FROM mentions m JOIN posts p ON p.id = m.post_id"""
    ).fetchall()
    for key, sentiment, reach, at in rows:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        assert key == pytest.approx(priority_key(sentiment, reach, when), abs=1e-12)
    for later in (NOW, NOW + timedelta(days=3)):
        by_key = sorted(rows, key=lambda r: -r[0])
        scores = [
            weight(s, r) * 0.5 ** ((later - datetime.fromisoformat(a.replace("Z", "+00:00")))
                                   .total_seconds() / 86400)
            for _, s, r, a in by_key
        ]  # fmt: skip
        assert all(a >= b * (1 - 1e-12) for a, b in pairwise(scores))
