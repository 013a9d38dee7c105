"""``mentions --search`` with a limit reads the newest posts first and checks them against
the full-text index (store.search): it lists exactly the head of the full listing, in
the same order, for common words (the walk) and rare ones (the whole match set), with
other filters and with posts sharing a time. And what search stands on as a store grows:
the full-text index through many small writes, and the planner's statistics."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from mentionwatch.models import Match, RawItem, Sentiment
from mentionwatch.store import db as store
from mentionwatch.store import search

from .storing import save_mentions, save_run

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WORDS = ("battery", "screen", "delivery", "support", "price", "refund")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = store.open_db(tmp_path / "m.db")
    rng = random.Random(5)
    times = [NOW - timedelta(seconds=rng.randint(0, 30 * 86400)) for _ in range(40)]
    mentions = []
    for i in range(3000):
        words = " ".join(rng.choice(WORDS) for _ in range(4))
        rare = " zephyr" if i % 97 == 0 else ""
        item = RawItem(
            str(i),
            f"https://n.example/{i}",
            f"post {i}",
            words + rare,
            published=rng.choice(times),  # shared times: ties broken by id
        )
        for brand in rng.sample(("Acme", "Globex"), rng.randint(1, 2)):
            score = round(rng.uniform(-1, 1), 2)
            label = "positive" if score > 0.05 else "negative" if score < -0.05 else "neutral"
            mentions.append(
                store.NewMention(
                    store.post_key(f"s{i % 3}", item),
                    item,
                    Match(brand, (brand,), ()),
                    Sentiment(score, label, "t"),
                )
            )
    for n in range(3):
        save_run(database, f"s{n}", [m for m in mentions if int(m.item.external_id) % 3 == n], NOW)
    database.execute("UPDATE mentions SET status = 'irrelevant' WHERE rowid % 9 = 0")
    yield database
    database.close()


@pytest.mark.parametrize("word", ["battery", "refund", "zephyr", "battery AND refund"])
def test_the_search_lists_the_head_of_the_full_listing(
    db: sqlite_utils.Database, word: str
) -> None:
    filters: list[dict[str, object]] = [
        {},
        {"brand": "globex"},
        {"sentiment": "negative"},
        {"source": "s1"},
        {"since": NOW - timedelta(days=9), "until": NOW - timedelta(days=2)},
        {"include_irrelevant": True},
    ]
    for extra in filters:
        full = store.query_mentions(db, store.MentionFilter(search=word, **extra))  # type: ignore[arg-type]
        assert full, extra
        for limit in (1, 10, 60):
            got = store.query_mentions(db, store.MentionFilter(search=word, limit=limit, **extra))  # type: ignore[arg-type]
            assert got == full[:limit], (extra, limit)


def test_a_common_word_is_walked_and_a_rare_one_is_not(db: sqlite_utils.Database) -> None:
    page_calls: list[int] = []

    def page(rowids: object) -> list[dict[str, object]]:
        page_calls.append(1)
        return [{"at": "9999"}] * 5  # settles at once: only whether the walk ran is asked

    assert search.newest_matches(db, "battery", "1", [], page, 5) is not None
    assert page_calls
    page_calls.clear()
    assert search.newest_matches(db, "zephyr", "1", [], page, 5) is None
    assert not page_calls


def test_a_bad_query_is_a_usage_error(db: sqlite_utils.Database) -> None:
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="full-text"):
        store.query_mentions(db, store.MentionFilter(search='"unclosed', limit=5))


def _write(database: sqlite_utils.Database, items: list[RawItem]) -> None:
    """One source run storing ``items``, each a neutral mention of Acme."""
    save_mentions(database, "w", [(i, "Acme", Sentiment(0.0, "neutral", "t")) for i in items], NOW)


def test_the_index_stays_whole_through_many_small_writes(tmp_path: Path) -> None:
    """Many small writes (one segment each) and deletions: the full-text index merges
    them 16 at a time (migration 012), stays consistent, and finds every post."""
    database = store.open_db(tmp_path / "w.db")
    try:
        assert database.execute(
            "SELECT v FROM posts_fts_config WHERE k = 'automerge'"
        ).fetchone() == (0,)
        for n in range(300):  # a write each: past the 16 segments a level holds
            _write(
                database, [RawItem(str(n), f"https://w.example/{n}", f"post {n}", f"quokka {n}")]
            )
        with store.transaction(database):
            database.execute("DELETE FROM mentions WHERE rowid % 10 = 0")
            database.execute(
                "DELETE FROM posts WHERE NOT EXISTS"
                " (SELECT 1 FROM mentions m WHERE m.post_id = posts.id)"
            )
        database.execute("INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 1)")
        found = database.execute(
            "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'quokka'"
        ).fetchone()[0]
        assert found == 270
    finally:
        database.close()


def test_planner_statistics_follow_the_store_as_it_grows(tmp_path: Path) -> None:
    """Statistics taken when the store was created (near-empty tables) are taken again
    once the mentions pass 1,000 and each time they double, so SQLite (and FTS5's own
    statements) plan for the store as it is."""
    database = store.open_db(tmp_path / "g.db")

    def known(table: str) -> int:
        row = database.execute(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = ? ORDER BY idx IS NULL DESC LIMIT 1",
            [table],
        ).fetchone()
        return int(row[0].split()[0]) if row else 0

    try:
        assert known("posts_fts_data") <= 2  # as migration 004 left it
        for n in range(6):
            _write(
                database,
                [
                    RawItem(str(i), f"https://g.example/{i}", f"post {i}", f"kiwi {i}")
                    for i in range(n * 400, (n + 1) * 400)
                ],
            )
            if n == 1:  # 800 mentions: not yet
                assert known("posts_fts_data") <= 2
        # Taken at 1,200 and again at 2,400.
        assert known("posts_fts_data") > 2
        mentions_known = database.execute(
            "SELECT stat FROM sqlite_stat1 WHERE idx = 'sqlite_autoindex_mentions_1'"
        ).fetchone()[0]
        assert int(mentions_known.split()[0]) >= 2000
    finally:
        database.close()


def _write_pages(database: sqlite_utils.Database, start: int) -> None:
    """Ten transactions of 150 posts, well over the 1,000 pages that start a checkpoint."""
    for n in range(start, start + 10):
        _write(
            database,
            [
                RawItem(f"{n}-{i}", f"https://c.example/{n}/{i}", f"post {i}", "walrus " * 80)
                for i in range(150)
            ],
        )


def _posts_in_file(path: Path, tmp_path: Path) -> int:
    """Posts in the database file alone, without its write-ahead log: what checkpoints
    have copied back so far."""
    alone = tmp_path / "alone.db"
    alone.write_bytes(path.read_bytes())
    copy = sqlite_utils.Database(alone)
    try:
        return int(copy.execute("SELECT count(*) FROM posts").fetchone()[0])
    finally:
        copy.close()
        alone.unlink()


def test_a_scan_checkpoints_once_at_the_end(tmp_path: Path) -> None:
    """Inside ``checkpoint_after`` commits leave the log alone (a checkpoint of pages
    scattered over a large store at every group commit stalled the scan); at its end
    everything is copied back and the usual setting returns."""
    path = tmp_path / "c.db"
    database = store.open_db(path)
    try:
        # As every command writes: copied back whenever the log passes 1,000 pages.
        _write_pages(database, 0)
        assert _posts_in_file(path, tmp_path) >= 1200
        with store.checkpoint_after(database):
            _write_pages(database, 100)
            assert database.execute("SELECT count(*) FROM posts").fetchone() == (3000,)
            assert _posts_in_file(path, tmp_path) <= 1500  # all new ones still in the log
        assert _posts_in_file(path, tmp_path) == 3000
        assert database.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    finally:
        database.close()
