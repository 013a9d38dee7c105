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


def m002_history_and_delivery(db: sqlite_utils.Database) -> None:
    """Per-source history (digest health), deliveries (exactly-once digests and alerts)."""
    db.execute(
        """
        CREATE TABLE source_runs (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL,         -- ok | not-modified | error
            items INTEGER NOT NULL DEFAULT 0,
            new_mentions INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            seconds REAL,
            at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX source_runs_at ON source_runs(at)")
    db.execute(
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,           -- digest | alert
            channel TEXT NOT NULL,        -- email | webhook
            target TEXT NOT NULL,         -- sorted recipients, or the webhook URL
            created TEXT NOT NULL,
            accepted TEXT,                -- when the server accepted it; NULL = not delivered
            subject TEXT,
            body TEXT,                    -- the message as sent (.eml or JSON), for --resend
            meta TEXT                     -- JSON: period, brand filter, counts
        )
        """
    )
    db.execute(
        """
        CREATE TABLE delivered (
            mention_id TEXT NOT NULL REFERENCES mentions(id),
            target TEXT NOT NULL,
            delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
            PRIMARY KEY (mention_id, target)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            kind TEXT NOT NULL,           -- spike | negative | urgent
            brand TEXT,
            episode TEXT NOT NULL,        -- fires once per (rule, episode)
            fired TEXT NOT NULL,
            window_start TEXT,
            window_end TEXT,
            summary TEXT NOT NULL,
            details TEXT,                 -- JSON
            UNIQUE (rule, episode)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE alert_deliveries (
            alert_id INTEGER NOT NULL REFERENCES alerts(id),
            target TEXT NOT NULL,
            delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
            PRIMARY KEY (alert_id, target)
        )
        """
    )


def m003_labels_inbox_flags(db: sqlite_utils.Database) -> None:
    """Relevance labels (precision), the webcare inbox (assignee, history), policy flags."""
    db.execute(
        """
        CREATE TABLE labels (
            mention_id TEXT PRIMARY KEY REFERENCES mentions(id),
            label TEXT NOT NULL,          -- relevant | irrelevant
            labelled_by TEXT,
            labelled_at TEXT NOT NULL
        )
        """
    )
    db.execute("ALTER TABLE mentions ADD COLUMN assignee TEXT")
    db.execute(
        """
        CREATE TABLE mention_events (
            id INTEGER PRIMARY KEY,
            mention_id TEXT NOT NULL REFERENCES mentions(id),
            at TEXT NOT NULL,
            who TEXT,
            action TEXT NOT NULL,         -- status | assign | note | label | flag
            value TEXT                    -- the new status, assignee, note text, label...
        )
        """
    )
    db.execute("CREATE INDEX mention_events_mention ON mention_events(mention_id)")
    db.execute(
        """
        CREATE TABLE mention_flags (
            mention_id TEXT NOT NULL REFERENCES mentions(id),
            rule TEXT NOT NULL,           -- the policy rule's name
            severity TEXT NOT NULL,       -- low | medium | high | critical
            reason TEXT,
            flagged_at TEXT NOT NULL,
            PRIMARY KEY (mention_id, rule)
        )
        """
    )
    db.execute("CREATE INDEX mentions_status ON mentions(status)")


def m004_read_indexes(db: sqlite_utils.Database) -> None:
    """Indexes for the read commands, so their cost follows what they show.

    A mention's time is ``COALESCE(published, fetched)`` of its post: the expression index
    lets every "since"/"between" read seek to the period instead of scanning all posts
    (the queries spell the expression exactly so, or SQLite cannot use it). The mention
    indexes cover the digest's and precision's GROUP BYs and the inbox's status filter
    without touching the table rows, and keep a scan's start from reading every mention."""
    # Covering: a period's rows are read from the index alone. Post rows hold the text,
    # so reading them one by one costs a page each; the index holds what reads count.
    db.execute(
        "CREATE INDEX posts_at ON posts(COALESCE(published, fetched),"
        " published, fetched, id, source, author, reach)"
    )
    db.execute(
        "CREATE INDEX mentions_post_cover"
        " ON mentions(post_id, status, brand, sentiment_label, sentiment, id)"
    )
    db.execute("CREATE INDEX mentions_brand_matched ON mentions(brand, matched)")
    db.execute("CREATE INDEX mentions_status_brand ON mentions(status, brand)")
    # A scan's policy catch-up looks for mentions created since the last run.
    db.execute("CREATE INDEX mentions_created ON mentions(created)")
    db.execute("ANALYZE")


def m005_undated_claims_warnings(db: sqlite_utils.Database) -> None:
    """Undated posts marked (alert windows leave them out), the later publish time a
    source claimed before it was clamped to the fetch time, warnings per source run."""
    # Generated, so it can never disagree with published and no write path changes.
    db.execute(
        "ALTER TABLE posts ADD COLUMN undated INTEGER "
        "GENERATED ALWAYS AS (published IS NULL) VIRTUAL"
    )
    db.execute("ALTER TABLE posts ADD COLUMN published_claimed TEXT")  # as the source said
    db.execute("ALTER TABLE source_runs ADD COLUMN warnings TEXT")  # JSON list of strings
    db.execute("ALTER TABLE sources ADD COLUMN last_warnings TEXT")  # JSON list of strings


MIGRATIONS: list[Migration] = [
    ("001_initial", m001_initial),
    ("002_history_and_delivery", m002_history_and_delivery),
    ("003_labels_inbox_flags", m003_labels_inbox_flags),
    ("004_read_indexes", m004_read_indexes),
    ("005_undated_claims_warnings", m005_undated_claims_warnings),
]
