"""The inbox's newest-first walk (it stops once nothing older can rank) lists exactly what
SQL's ranking of the whole horizon lists, in the same order, on random stores: flags of
several severities, overdue and not, statuses, assignees, a competitor, undated posts,
ties in time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from mentionwatch.analysis.sentiment import label_for
from mentionwatch.config.policy import PolicyRule
from mentionwatch.configure import parse_config
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport
from mentionwatch.store import db as store
from mentionwatch.webcare.inbox import _candidates, _walked_ids, inbox
from mentionwatch.webcare.policy import PolicyChecker, flag_mentions

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
        mentions.append(
            store.NewMention(
                store.post_key("news", item),
                item,
                Match(brand, (brand,), ()),
                Sentiment(score, label, "t"),
            )
        )
    ids = store.save_source_run(
        db,
        source="news",
        source_type="rss",
        mentions=mentions,
        state=None,
        report=SourceReport("news", "rss", "ok"),
        fetched=NOW - timedelta(days=rng.choice((1, 3))),
    )
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
