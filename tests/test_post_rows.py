"""Mentions reach their post by the post's rowid (migration 013): whatever wrote a
mention, and whatever the store looked like before, reads find the same rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from mentionwatch.models import RawItem, Sentiment
from mentionwatch.store import db as store
from mentionwatch.store.migrations import MIGRATIONS

from .storing import save_mentions

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _post_rows_wrong(db: sqlite_utils.Database) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM mentions m"
            " WHERE m.post_row IS NOT (SELECT p.rowid FROM posts p WHERE p.id = m.post_id)"
        ).fetchone()[0]
    )


def _store_before_013(path: Path) -> None:
    """A store as migration 012 left it, with posts and mentions written by SQL:
    posts in an order of their own, so their rowids follow neither id nor mention."""
    db = sqlite_utils.Database(path)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied TEXT)")
    for name, apply in MIGRATIONS:
        if name == "013_post_rows":
            break
        apply(db)
        db.execute("INSERT INTO _migrations VALUES (?, '2026-11-01 00:00:00')", [name])
    order = list(range(40))
    random.Random(3).shuffle(order)
    for i in order:
        db.execute(
            "INSERT INTO posts (id, url, source, source_type, title, text, published, fetched)"
            " VALUES (?, ?, 'feed', 'rss', ?, 'Acme and Globex', ?, ?)",
            [f"p{i:02}", f"https://x.example/{i}", f"post {i}", f"2026-11-{10 + i % 9}T08:00:00Z",
             "2026-11-19T00:00:00Z"],
        )  # fmt: skip
    for i in range(40):
        for brand in ("Acme", "Globex")[: 1 + i % 2]:
            db.execute(
                "INSERT INTO mentions (id, post_id, brand, matched, spans, sentiment,"
                " sentiment_label, status, created) VALUES (?, ?, ?, ?, '[]', -0.5,"
                " 'negative', 'new', '2026-11-19T00:00:00Z')",
                [f"m{i:02}{brand}", f"p{i:02}", brand, f'["{brand}"]'],
            )
    db.conn.commit()
    db.close()


def test_a_store_from_before_finds_every_mention_from_its_post(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _store_before_013(path)
    db = store.open_db(path)
    try:
        assert db.execute("SELECT count(*) FROM mentions").fetchone()[0] == 60
        assert db.execute("SELECT count(post_row) FROM mentions").fetchone()[0] == 60
        assert _post_rows_wrong(db) == 0
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "mentions_post_row" in indexes
        assert not indexes & {"mentions_post_cover", "posts_published"}
        # Newest first, from the posts' side (posts_at, then the new index): every one.
        listed = store.query_mentions(db, store.MentionFilter(limit=None))
        assert len(listed) == 60
        by_post = {(r["title"], r["brand"]) for r in listed}
        assert ("post 7", "Globex") in by_post
        assert ("post 8", "Globex") not in by_post  # even posts name Acme alone
        assert [r["published"] for r in listed] == sorted(
            (r["published"] for r in listed), reverse=True
        )
        plan = " ".join(
            row[3]
            for row in db.execute(
                f"EXPLAIN QUERY PLAN {store._SELECT_NEWEST} ORDER BY"
                " COALESCE(p.published, p.fetched) DESC, m.id LIMIT 5"
            )
        )
        assert "USING INDEX posts_at" in plan
        assert "mentions_post_row (post_row=?)" in plan, plan
    finally:
        db.close()


def test_a_mention_written_by_another_tool_gets_its_post_row(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = store.open_db(path)
    try:
        items = [RawItem(str(i), f"https://x.example/{i}", f"t{i}", "Acme") for i in range(3)]
        save_mentions(
            db, "feed", [(it, "Acme", Sentiment(0.1, "neutral", "t")) for it in items], NOW
        )
        assert _post_rows_wrong(db) == 0
        post = db.execute("SELECT id, rowid FROM posts WHERE title = 't1'").fetchone()
        # No post_row, as a tool that knows the schema before migration 013 writes it.
        db.execute(
            "INSERT INTO mentions (id, post_id, brand, matched, spans, status, created)"
            " VALUES ('other', ?, 'Globex', '[\"Globex\"]', '[]', 'new', '2026-11-20T12:00:00Z')",
            [post[0]],
        )
    finally:
        db.close()
    db = store.open_db(path)  # the next command's open fills it in
    try:
        assert (
            db.execute("SELECT post_row FROM mentions WHERE id = 'other'").fetchone()[0]
            == (post[1])
        )
        found = store.query_mentions(db, store.MentionFilter(brand="Globex", limit=10))
        assert [(r["id"], r["title"]) for r in found] == [("other", "t1")]
        # Moved to another post, or given a wrong rowid: it follows its post_id.
        moved = db.execute("SELECT id, rowid FROM posts WHERE title = 't2'").fetchone()
        db.execute("UPDATE mentions SET post_id = ? WHERE id = 'other'", [moved[0]])
        db.execute("UPDATE mentions SET post_row = 999 WHERE id != 'other'")
        assert _post_rows_wrong(db) == 0
        found = store.query_mentions(db, store.MentionFilter(brand="Globex", limit=10))
        assert [(r["id"], r["title"]) for r in found] == [("other", "t2")]
    finally:
        db.close()
