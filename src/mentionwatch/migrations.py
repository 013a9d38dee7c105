"""Append-only, named schema migrations. Never edit one that has shipped: add another."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = tuple[str, Callable[[sqlite_utils.Database], None]]


def m001_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE posts (
            id TEXT PRIMARY KEY,          -- hash of the canonical URL (or source + external id)
            url TEXT NOT NULL,
            canonical_url TEXT,
            external_id TEXT,
            source TEXT NOT NULL,         -- the source that saw it first
            source_type TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            published TEXT,               -- ISO 8601 UTC with Z
            fetched TEXT NOT NULL,
            lang TEXT,
            counters TEXT,                -- JSON object of raw reach counters
            reach INTEGER
        )
        """
    )
    db.execute(
        """
        CREATE TABLE mentions (
            id TEXT PRIMARY KEY,
            post_id TEXT NOT NULL REFERENCES posts(id),
            brand TEXT NOT NULL,
            matched TEXT NOT NULL,        -- JSON list of configured terms that matched
            spans TEXT NOT NULL,          -- JSON list of [start, end, term] in title + "\\n" + text
            sentiment REAL,
            sentiment_label TEXT,
            sentiment_engine TEXT,
            status TEXT NOT NULL DEFAULT 'new',
            created TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX mentions_brand ON mentions(brand)")
    db.execute("CREATE INDEX mentions_post ON mentions(post_id)")
    db.execute("CREATE INDEX posts_published ON posts(published)")
    db.execute(
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            cursor TEXT,
            last_run TEXT,
            last_status TEXT,
            last_success TEXT,
            last_error TEXT,
            last_error_at TEXT,
            last_items INTEGER,
            last_mentions INTEGER,
            last_seconds REAL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started TEXT NOT NULL,
            finished TEXT,
            sources INTEGER,
            failed INTEGER,
            new_mentions INTEGER
        )
        """
    )
    # Full-text search over title and text, kept in step by triggers.
    db.execute(
        "CREATE VIRTUAL TABLE posts_fts USING fts5(title, text, content='posts', "
        "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute(
        """
        CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN
            INSERT INTO posts_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER posts_ad AFTER DELETE ON posts BEGIN
            INSERT INTO posts_fts(posts_fts, rowid, title, text)
            VALUES ('delete', old.rowid, old.title, old.text);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER posts_au AFTER UPDATE ON posts BEGIN
            INSERT INTO posts_fts(posts_fts, rowid, title, text)
            VALUES ('delete', old.rowid, old.title, old.text);
            INSERT INTO posts_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
        END
        """
    )


MIGRATIONS: list[Migration] = [
    ("001_initial", m001_initial),
]
