"""The inbox ranks in SQL and reads only what it shows: the first N by SQL are the first
N of the full documented order, and mentions past the horizon (default 14 days, or
``inbox: {horizon: ...}``) are left out."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from mentionwatch.analysis.sentiment import label_for
from mentionwatch.config.inbox import DEFAULT_HORIZON
from mentionwatch.config.policy import PolicyRule
from mentionwatch.configure import parse_config
from mentionwatch.errors import ConfigError
from mentionwatch.models import RawItem, Sentiment
from mentionwatch.store import db as store
from mentionwatch.webcare.inbox import inbox, sort_key
from mentionwatch.webcare.policy import PolicyChecker, flag_mentions

from .storing import save_mentions

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """\
brands:
  - {name: Acme, keywords: [Acme], respond_within: 3h}
  - {name: Globex, keywords: [Globex]}
sources: [https://feed.example/a.xml]
inbox: {respond_within: {negative: 6h}}
"""


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = store.open_db(tmp_path / "m.db")
    yield database
    database.close()


def fill(db: sqlite_utils.Database, n: int, *, days: float, seed: int = 7) -> None:
    rng = random.Random(seed)
    mentions = []
    for i in range(n):
        at = NOW - timedelta(hours=rng.uniform(0, days * 24))
        brand = rng.choice(("Acme", "Globex", "Other"))
        text = "secret plans leaked" if i % 17 == 0 else "a post"
        item = RawItem(
            str(i),
            f"https://news.example/{i}",
            f"{brand} {i}",
            text,
            published=at,
            counters=(("points", rng.randint(0, 9000)),) if i % 3 else (),
        )
        score = round(rng.uniform(-1, 1), 2)
        label = label_for(score)
        mentions.append((item, brand, Sentiment(score, label, "t")))
    ids = save_mentions(db, "news", mentions, NOW - timedelta(days=days))
    checker = PolicyChecker((PolicyRule("leak", "high", ("secret plans",)),))
    flag_mentions(db, checker, ids, now=NOW)
    db.execute("UPDATE mentions SET status = 'open' WHERE rowid % 5 = 0")
    db.execute("UPDATE mentions SET status = 'responded' WHERE rowid % 7 = 0")


def test_sql_top_n_is_the_head_of_the_full_order(db: sqlite_utils.Database) -> None:
    fill(db, 400, days=10)
    cfg = parse_config(CONFIG)
    everything = inbox(db, cfg, now=NOW)
    assert (
        len(everything)
        == db.execute("SELECT count(*) FROM mentions WHERE status IN ('new', 'open')").fetchone()[0]
    )
    assert everything == sorted(everything, key=sort_key)  # the documented order
    assert [i.rank for i in everything] == list(range(1, len(everything) + 1))
    # All three keys of the order are really exercised by this data.
    assert everything[0].flags
    assert not everything[-1].flags
    assert any(i.overdue for i in everything)
    assert not all(i.overdue for i in everything)
    for limit in (1, 7, 50):
        assert inbox(db, cfg, now=NOW, limit=limit) == everything[:limit]
    brand_only = inbox(db, cfg, now=NOW, brand="globex", limit=10)
    globex = [i.id for i in everything if i.brand == "Globex"][:10]
    assert [i.id for i in brand_only] == globex != []
    assert [i.rank for i in brand_only] == list(range(1, 11))


def test_horizon_leaves_old_mentions_out(db: sqlite_utils.Database) -> None:
    fill(db, 300, days=30)
    cutoff = NOW - DEFAULT_HORIZON
    shown = inbox(db, parse_config(CONFIG), now=NOW)
    assert shown
    assert all(i.at >= cutoff for i in shown)
    waiting_old = db.execute(
        "SELECT count(*) FROM mentions m JOIN posts p ON p.id = m.post_id"
        " WHERE m.status IN ('new', 'open') AND p.published < ?",
        [cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")],
    ).fetchone()[0]
    assert waiting_old > 0  # there was something to leave out
    wider = inbox(db, parse_config(CONFIG.replace("6h}}", "6h}, horizon: 60d}")), now=NOW)
    assert len(wider) == len(shown) + waiting_old
    narrow = inbox(db, parse_config(CONFIG.replace("6h}}", "6h}, horizon: 2d}")), now=NOW)
    assert narrow
    assert all(i.at >= NOW - timedelta(days=2) for i in narrow)
    assert inbox(db, None, now=NOW)  # without a config: the default horizon


def test_horizon_must_be_a_duration() -> None:
    with pytest.raises(ConfigError, match="horizon"):
        parse_config(CONFIG.replace("6h}}", "6h}, horizon: soon}"))
