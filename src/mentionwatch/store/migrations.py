"""Append-only, named schema migrations. Never edit one that has shipped: add another."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlite_utils

from ..analysis.priority import priority_key
from ..timeutil import from_iso
from .stats import take_statistics

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


# How an increment merges into a roll-up row: counts and sums add up, the bounds only
# widen. One wording for the triggers, the writer's set-based statements and its
# in-memory counts (rollup.NewCounts).
HOURS_MERGE = """ON CONFLICT DO UPDATE SET n = n + excluded.n,
    score_sum = score_sum + excluded.score_sum, scored = scored + excluded.scored,
    max_reach = max(max_reach, excluded.max_reach),
    min_sentiment = min(min_sentiment, excluded.min_sentiment)"""
COUNT_MERGE = "ON CONFLICT DO UPDATE SET n = n + excluded.n"


# The tables of mentions per source and per author: per day (006) and per hour (011),
# as (table, time column, length of the time's ISO prefix).
_DAY_NAMES = ("mention_days", "day", 10)
_HOUR_NAMES = ("mention_hour_names", "hour", 13)
# Each kind, its post column and what leaves a post out (a blank author).
_NAME_KINDS = (("source", "p.source", ""), ("author", "p.author", "AND trim(p.author) != ''"))


def _names_change(row: str, sign: int, names: tuple[str, str, int]) -> str:
    """What a mention adds to (sign +1) or takes from (-1) a table of sources and
    authors, as trigger statements over NEW or OLD; a count that fell to nothing
    leaves no row (top lists skip it)."""
    table, unit, width = names
    at = f"substr(COALESCE(p.published, p.fetched), 1, {width})"
    post = f"FROM posts p WHERE p.id = {row}.post_id"
    sql = ""
    for kind, column, extra in _NAME_KINDS:
        sql += f"""
        INSERT INTO {table} (kind, {unit}, brand, name, n)
        SELECT '{kind}', {at}, {row}.brand, {column}, {sign} {post} {extra}
        {COUNT_MERGE};"""
    if sign < 0:  # scalar subqueries, so each DELETE seeks its one primary key
        for kind, column, _ in _NAME_KINDS:
            sql += f"""
        DELETE FROM {table} WHERE n = 0 AND kind = '{kind}' AND {unit} = (SELECT {at} {post})
            AND brand = {row}.brand AND name = (SELECT {column} {post});"""  # noqa: S608
    return sql


def _change_triggers(name: str, change: Callable[[str, int], str]) -> list[str]:
    """Triggers ``{name}_ad``, ``_au_old`` and ``_au_new`` that take a deleted mention
    out of a roll-up, and move one whose update moves it (``_ROLLUP_MOVED``)."""
    return [
        f"""CREATE TRIGGER {name}_ad AFTER DELETE ON mentions
            WHEN old.status != 'irrelevant' BEGIN {change("old", -1)} END""",
        f"""CREATE TRIGGER {name}_au_old
            AFTER UPDATE OF status, brand, post_id, sentiment_label, sentiment ON mentions
            WHEN old.status != 'irrelevant' AND {_ROLLUP_MOVED}
            BEGIN {change("old", -1)} END""",
        f"""CREATE TRIGGER {name}_au_new
            AFTER UPDATE OF status, brand, post_id, sentiment_label, sentiment ON mentions
            WHEN new.status != 'irrelevant' AND {_ROLLUP_MOVED}
            BEGIN {change("new", 1)} END""",
    ]


def _backfill_names(db: sqlite_utils.Database, names: tuple[str, str, int]) -> None:
    """Fill an empty table of sources and authors from the mentions."""
    table, _, width = names
    for kind, column, extra in _NAME_KINDS:
        db.execute(
            f"""INSERT INTO {table}
                SELECT '{kind}', substr(COALESCE(p.published, p.fetched), 1, {width}),
                       m.brand, {column}, count(*)
                FROM mentions m JOIN posts p ON p.id = m.post_id
                WHERE m.status != 'irrelevant' {extra} GROUP BY 2, 3, 4"""  # noqa: S608
        )


# What a mention adds to the roll-ups (sign +1) or takes away (-1), as trigger statements
# over NEW or OLD. A mention labelled irrelevant is in no figure, so it is not counted.
def _rollup_change(row: str, sign: int) -> str:
    at = "COALESCE(p.published, p.fetched)"
    post = f"FROM posts p WHERE p.id = {row}.post_id"
    sql = f"""
        INSERT INTO mention_hours (hour, brand, label, n, score_sum, scored, max_reach,
                                   min_sentiment)
        SELECT substr({at}, 1, 13), {row}.brand, COALESCE({row}.sentiment_label, 'neutral'),
               {sign}, {sign} * COALESCE({row}.sentiment, 0),
               {sign} * ({row}.sentiment IS NOT NULL),
               COALESCE(p.reach, 0), COALESCE({row}.sentiment, 0) {post}
        {HOURS_MERGE};
    """
    if sign < 0:  # a figure that fell to nothing leaves no row (top lists skip it)
        sql += f"""
        DELETE FROM mention_hours WHERE n = 0 AND hour = (SELECT substr({at}, 1, 13) {post})
            AND brand = {row}.brand AND label = COALESCE({row}.sentiment_label, 'neutral');
        """  # noqa: S608
    return sql + _names_change(row, sign, _DAY_NAMES)


# An update changes a roll-up only when it moves the mention in or out of the counted
# set or changes what it is counted under; a status change new -> open does not.
_ROLLUP_MOVED = """(
    ((old.status = 'irrelevant') IS NOT (new.status = 'irrelevant'))
    OR old.brand IS NOT new.brand OR old.post_id IS NOT new.post_id
    OR old.sentiment_label IS NOT new.sentiment_label OR old.sentiment IS NOT new.sentiment
)"""


def m006_rollups(db: sqlite_utils.Database) -> None:
    """Per-hour and per-day counts of the countable mentions, kept by triggers, so the
    digest's figures over a month read a few thousand roll-up rows, not every mention.

    ``mention_hours``: per UTC hour of the mention's time (``COALESCE(published,
    fetched)``), brand and sentiment label: count, sum and count of scores (the digest's
    counts, sentiment split and average, volume, trends, share of voice), and bounds the
    digest's priority walk stops on (the largest reach and lowest score ever counted in
    the hour: upper bounds, never lowered, so a deletion cannot make them wrong).
    ``mention_days``: per UTC day, brand and source or author: the top lists.

    Triggers rather than upserts in the writer: every path that changes a mention (a
    scan, a label, a status, a rescore, a deletion) keeps the figures right by itself,
    in its own transaction, and no future writer can forget to. Posts' time, source and
    author are never updated once written, so only mentions need triggers."""
    db.execute(
        """
        CREATE TABLE mention_hours (
            hour TEXT NOT NULL,           -- 'YYYY-MM-DDTHH' (UTC) of the mention's time
            brand TEXT NOT NULL,          -- as stored (any case)
            label TEXT NOT NULL,          -- COALESCE(sentiment_label, 'neutral')
            n INTEGER NOT NULL,
            score_sum REAL NOT NULL,
            scored INTEGER NOT NULL,      -- mentions with a score
            max_reach INTEGER NOT NULL,   -- bound: no counted mention had a larger reach
            min_sentiment REAL NOT NULL,  -- bound: nor a lower score
            PRIMARY KEY (hour, brand, label)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE mention_days (
            kind TEXT NOT NULL,           -- source | author
            day TEXT NOT NULL,            -- 'YYYY-MM-DD' (UTC) of the mention's time
            brand TEXT NOT NULL,
            name TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (kind, day, brand, name)
        ) WITHOUT ROWID
        """
    )
    backfill_rollups(db)
    for trigger in rollup_triggers():
        db.execute(trigger)


def rollup_triggers() -> list[str]:
    """The triggers that keep the roll-ups (also used by tools that bulk-load a store
    with them dropped, then call :func:`backfill_rollups`)."""
    # No AFTER INSERT trigger (migration 009): the writer adds a group's new mentions
    # in three set-based statements (count_new_mentions) instead of three a row.
    return _change_triggers("mentions_rollup", _rollup_change)


def backfill_rollups(db: sqlite_utils.Database) -> None:
    """Fill empty roll-up tables from the mentions (one GROUP BY each)."""
    rows = """FROM mentions m JOIN posts p ON p.id = m.post_id
              WHERE m.status != 'irrelevant'"""
    at = "COALESCE(p.published, p.fetched)"
    db.execute(
        f"""INSERT INTO mention_hours
            SELECT substr({at}, 1, 13), m.brand, COALESCE(m.sentiment_label, 'neutral'),
                   count(*), total(m.sentiment), count(m.sentiment),
                   max(COALESCE(p.reach, 0)), min(COALESCE(m.sentiment, 0))
            {rows} GROUP BY 1, 2, 3"""
    )
    _backfill_names(db, _DAY_NAMES)


def m007_drop_shadowed_indexes(db: sqlite_utils.Database) -> None:
    """Drop the indexes another one starts with: every read they served is served as
    well by the longer one (EXPLAIN QUERY PLAN picks it), and each costs every insert a
    write. mentions_post was the dearest: keyed by a post's hash, each insert lands on a
    random page. (mentions_post_cover, mentions_brand_matched and mentions_status_brand
    begin with the same columns.)"""
    for name in ("mentions_post", "mentions_brand", "mentions_status"):
        db.execute(f"DROP INDEX IF EXISTS {name}")


# Moves a mention's count in ``term_labels`` from one label to another ('' = unlabelled),
# under the (brand, matched) of the mention ``mention`` names (no row: nothing moves).
def _term_move(mention: str, frm: str, to: str) -> str:
    row = f"FROM mentions m WHERE m.id = {mention}"
    return f"""
        INSERT INTO term_labels (brand, matched, label, n) SELECT m.brand, m.matched, {frm}, -1
        {row} {COUNT_MERGE};
        INSERT INTO term_labels (brand, matched, label, n) SELECT m.brand, m.matched, {to}, 1
        {row} {COUNT_MERGE};
    """


def _term_add(row: str, sign: int) -> str:
    label = f"COALESCE((SELECT l.label FROM labels l WHERE l.mention_id = {row}.id), '')"  # noqa: S608
    return f"""
        INSERT INTO term_labels (brand, matched, label, n)
        VALUES ({row}.brand, {row}.matched, {label}, {sign})
        {COUNT_MERGE};
    """  # noqa: S608 -- our own constants only


def term_label_triggers() -> list[str]:
    """The triggers that keep ``term_labels`` (migration 008)."""
    return [  # no AFTER INSERT trigger: see rollup_triggers
        f"""CREATE TRIGGER mentions_terms_ad AFTER DELETE ON mentions
            BEGIN {_term_add("old", -1)} END""",
        f"""CREATE TRIGGER mentions_terms_au AFTER UPDATE OF id, brand, matched ON mentions
            WHEN old.id IS NOT new.id OR old.brand IS NOT new.brand
                 OR old.matched IS NOT new.matched
            BEGIN {_term_add("old", -1)} {_term_add("new", 1)} END""",
        f"""CREATE TRIGGER labels_terms_ai AFTER INSERT ON labels
            BEGIN {_term_move("new.mention_id", "''", "new.label")} END""",
        f"""CREATE TRIGGER labels_terms_ad AFTER DELETE ON labels
            BEGIN {_term_move("old.mention_id", "old.label", "''")} END""",
        f"""CREATE TRIGGER labels_terms_au AFTER UPDATE OF mention_id, label ON labels
            WHEN old.mention_id IS NOT new.mention_id OR old.label IS NOT new.label
            BEGIN {_term_move("old.mention_id", "old.label", "''")}
                  {_term_move("new.mention_id", "''", "new.label")} END""",
    ]


def backfill_term_labels(db: sqlite_utils.Database) -> None:
    """Fill an empty ``term_labels`` from the mentions and their labels."""
    db.execute(
        """INSERT INTO term_labels (brand, matched, label, n)
           SELECT m.brand, m.matched, COALESCE(l.label, ''), count(*)
           FROM mentions m LEFT JOIN labels l ON l.mention_id = m.id GROUP BY 1, 2, 3"""
    )


def m008_term_labels(db: sqlite_utils.Database) -> None:
    """Mentions per (brand, matched terms, label), kept by triggers: the precision report
    reads these few rows instead of counting every mention.

    Every mention counts, whatever its status, under its label ('' while unlabelled), as
    the report counts them. Triggers on both tables, so a label given, changed or taken
    back, and a mention written or deleted, keep the counts right in their own
    transaction. A count that fell to 0 stays as a row (readers skip n = 0)."""
    db.execute(
        """
        CREATE TABLE term_labels (
            brand TEXT NOT NULL,
            matched TEXT NOT NULL,        -- the mention's matched (JSON list of terms)
            label TEXT NOT NULL,          -- relevant | irrelevant | '' (unlabelled)
            n INTEGER NOT NULL,
            PRIMARY KEY (brand, matched, label)
        ) WITHOUT ROWID
        """
    )
    backfill_term_labels(db)
    for trigger in term_label_triggers():
        db.execute(trigger)


_NEW_AT = "COALESCE(p.published, p.fetched)"
# From the new ids outwards: CROSS JOIN keeps SQLite from choosing to scan every stored
# mention (an index on mentions looks cheaper to it than the temp table it knows nothing
# about): a scan into a 1M store took 17x as long as into an empty one.
_NEW_ROWS = """FROM temp.new_mentions n CROSS JOIN mentions m ON m.id = n.id
    CROSS JOIN posts p ON p.rowid = m.post_row WHERE m.status != 'irrelevant'"""
_NEW_NAMES = """INSERT INTO {table} (kind, {unit}, brand, name, n)
    SELECT '{kind}', substr({at}, 1, {width}), m.brand, {column}, count(*)
    {rows} {extra} GROUP BY 2, 3, 4
    {merge}"""


def _new_names(names: tuple[str, str, int]) -> list[str]:
    """The statements that add temp.new_mentions to a table of sources and authors."""
    table, unit, width = names
    return [
        _NEW_NAMES.format(
            table=table,
            unit=unit,
            width=width,
            kind=kind,
            at=_NEW_AT,
            column=column,
            rows=_NEW_ROWS,
            extra=extra,
            merge=COUNT_MERGE,
        )
        for kind, column, extra in _NAME_KINDS
    ]


# The statements that add temp.new_mentions to the roll-ups and term_labels.
NEW_MENTION_COUNTS: tuple[str, ...] = (
    f"""INSERT INTO mention_hours (hour, brand, label, n, score_sum, scored, max_reach,
                                   min_sentiment)
        SELECT substr({_NEW_AT}, 1, 13), m.brand, COALESCE(m.sentiment_label, 'neutral'),
               count(*), total(m.sentiment), count(m.sentiment),
               max(COALESCE(p.reach, 0)), min(COALESCE(m.sentiment, 0))
        {_NEW_ROWS} GROUP BY 1, 2, 3
        {HOURS_MERGE}""",
    *_new_names(_DAY_NAMES),
    *_new_names(_HOUR_NAMES),
    f"""INSERT INTO term_labels (brand, matched, label, n)
       SELECT m.brand, m.matched, COALESCE(l.label, ''), count(*)
       FROM temp.new_mentions n CROSS JOIN mentions m ON m.id = n.id
       LEFT JOIN labels l ON l.mention_id = m.id WHERE true GROUP BY 1, 2, 3
       {COUNT_MERGE}""",  # noqa: S608
)


def count_new_mentions(db: sqlite_utils.Database, ids: Sequence[str]) -> None:
    """Add mentions just inserted (by the writer, in its transaction) to the roll-ups
    and ``term_labels``: what an AFTER INSERT trigger did one row at a time, done for
    a whole group of sources in one GROUP BY upsert per table and kind. Per-row triggers doubled the
    writer's cost (3.4 s against 1.5 s for 13k mentions); deletions and updates, which
    come one at a time anyway, keep their triggers."""
    if not ids:
        return
    db.execute("CREATE TEMP TABLE IF NOT EXISTS new_mentions (id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM temp.new_mentions")
    db.conn.executemany("INSERT OR IGNORE INTO temp.new_mentions VALUES (?)", [(i,) for i in ids])
    for sql in NEW_MENTION_COUNTS:
        db.execute(sql)


def m009_writer_counts_new_mentions(db: sqlite_utils.Database) -> None:
    """The roll-ups and ``term_labels`` learn of new mentions from the writer
    (:func:`count_new_mentions`), not from per-row AFTER INSERT triggers."""
    db.execute("DROP TRIGGER IF EXISTS mentions_rollup_ai")
    db.execute("DROP TRIGGER IF EXISTS mentions_terms_ai")


def _stored_priority_key(
    sentiment: float | None, reach: int | None, at: str | None
) -> float | None:
    when = from_iso(at)
    return None if when is None else priority_key(sentiment, reach, when)


def backfill_priority_keys(db: sqlite_utils.Database, *, after_rowid: int = 0) -> None:
    """Work out ``priority_key`` for the mentions after ``after_rowid`` from their posts."""
    db.conn.create_function("mw_priority_key", 3, _stored_priority_key, deterministic=True)
    db.execute(
        """UPDATE mentions SET priority_key = (
               SELECT mw_priority_key(mentions.sentiment, p.reach,
                                      COALESCE(p.published, p.fetched))
               FROM posts p WHERE p.id = mentions.post_id)
           WHERE rowid > ?""",
        [after_rowid],
    )


# A changed score marks the key unknown (NULL), whoever changed it (any tool, any future
# path), rather than leaving it wrong; readers read unknown keys first. A writer that
# knows the new key sets it in a statement after the score's (see rescore).
PRIORITY_KEY_STALE = """CREATE TRIGGER mentions_priority_stale
    AFTER UPDATE OF sentiment ON mentions WHEN new.sentiment IS NOT old.sentiment
    BEGIN UPDATE mentions SET priority_key = NULL WHERE rowid = new.rowid; END"""


def m010_priority_key(db: sqlite_utils.Database) -> None:
    """``mentions.priority_key`` (analysis.priority) and its index: the inbox and the
    digest read mentions in priority order and stop after the few they show, where a
    newest-first walk read more rows the more mentions each hour held.

    The writer sets it with the mention's score, ``rescore`` after the new score;
    NULL means not known (a row written by another tool, a score changed by one), and
    readers take those rows first, so a missing key costs time, never a wrong order."""
    db.execute("ALTER TABLE mentions ADD COLUMN priority_key REAL")
    backfill_priority_keys(db)
    db.execute("CREATE INDEX mentions_priority ON mentions(priority_key)")
    db.execute(PRIORITY_KEY_STALE)


def hour_name_triggers() -> list[str]:
    """The triggers that keep ``mention_hour_names`` (migration 011): as the roll-up
    triggers of migration 006, beside them."""
    return _change_triggers(
        "mentions_hour_names", lambda row, sign: _names_change(row, sign, _HOUR_NAMES)
    )


def backfill_hour_names(db: sqlite_utils.Database) -> None:
    """Fill an empty ``mention_hour_names`` from the mentions."""
    _backfill_names(db, _HOUR_NAMES)


def m011_hour_names(db: sqlite_utils.Database) -> None:
    """Mentions per UTC hour, brand and source or author: the digest's top lists read
    the days a period cuts through from these by the hour, where they read every
    mention of the cut part (a day at 1M mentions held ~11k).

    Kept as ``mention_days`` is: the writer adds new mentions (rollup.NewCounts and
    count_new_mentions), triggers follow deletions and changes."""
    db.execute(
        """
        CREATE TABLE mention_hour_names (
            kind TEXT NOT NULL,           -- source | author
            hour TEXT NOT NULL,           -- 'YYYY-MM-DDTHH' (UTC) of the mention's time
            brand TEXT NOT NULL,
            name TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (kind, hour, brand, name)
        ) WITHOUT ROWID
        """
    )
    backfill_hour_names(db)
    for trigger in hour_name_triggers():
        db.execute(trigger)


def m012_fts_tiered_merges(db: sqlite_utils.Database) -> None:
    """Full-text index segments merge 16 at a time, when a level fills, instead of 4 at a
    time, a little after every write (FTS5's ``automerge`` 0: only its 'crisis' merges).

    Each write adds a small segment; merging them 4 by 4 rewrites every word about
    log4(index / write) times, and the writes that meet a pending merge of the big
    segments of a large store pay for it. 16 by 16 rewrites half as often. Measured
    with scan_bench --into on a freshly built store: a dense 200-feed scan into 1M
    mentions took 2.0x as long as into an empty store with the default (two runs),
    1.36-1.59x with this (three runs), 1.18x with no full-text index at all. The
    cost: a search looks in up to 15 segments a level rather than 3, and now and then
    one write merges a whole level at once."""
    db.execute("INSERT INTO posts_fts(posts_fts, rank) VALUES ('automerge', 0)")


# Mentions whose post_row is not known: rows another tool inserted without it (the
# store fills them when it is opened, db.open_db). NULLs lead the post_row index, so
# the statement seeks to them and reads nothing else. An AFTER INSERT trigger did the
# same for each row as it came, at the price of 25 us on every mention the writer
# stores (40k mentions into an empty store: 4.7-5.0 s without it, 5.8-6.3 s with it).
FILL_POST_ROWS = """UPDATE mentions
    SET post_row = (SELECT rowid FROM posts WHERE id = mentions.post_id)
    WHERE post_row IS NULL"""
# A mention moved to another post (by any tool) follows it; updates are one at a time.
POST_ROW_FOLLOWS = """CREATE TRIGGER mentions_post_row_au
    AFTER UPDATE OF post_id, post_row ON mentions
    WHEN new.post_row IS NOT (SELECT rowid FROM posts WHERE id = new.post_id) BEGIN
        UPDATE mentions SET post_row = (SELECT rowid FROM posts WHERE id = new.post_id)
        WHERE rowid = new.rowid;
    END"""


def m013_post_rows(db: sqlite_utils.Database) -> None:
    """Mentions are found from their post by the post's rowid (``mentions.post_row``),
    where migration 004's covering index found them by the post's id, a hash.

    A hash-keyed index puts each new row on a page of its own once it is large: with a
    1M-mention store, every 900 mentions written dirtied 619 pages of it, each copied
    into the write-ahead log at commit. Posts get increasing rowids and their mentions
    are written right after them, so the new index grows at its end (a few pages a
    commit). Posts are never deleted nor replaced, and VACUUM keeps rowids (the
    full-text index relies on that too), so a rowid stays its post's.

    The cost: nothing keys mentions by ``post_id`` any more, so deleting a post with
    ``foreign_keys`` on reads every mention (the check for its children). mentionwatch
    never deletes posts; a tool that does deletes the mentions first, then the posts
    with the check off.

    ``posts_published`` goes as well: every read spells a post's time
    ``COALESCE(published, fetched)`` (posts_at), none reads ``published`` alone, and
    it cost each commit 116 pages at 1M."""
    db.execute("ALTER TABLE mentions ADD COLUMN post_row INTEGER")
    db.execute(FILL_POST_ROWS)
    db.execute(
        "CREATE INDEX mentions_post_row"
        " ON mentions(post_row, status, brand, sentiment_label, sentiment, id)"
    )
    db.execute("DROP INDEX mentions_post_cover")
    db.execute("DROP INDEX IF EXISTS posts_published")
    db.execute(POST_ROW_FOLLOWS)
    # The planner's figures for the new index, with every table's true count (stats).
    take_statistics(db)


MIGRATIONS: list[Migration] = [
    ("001_initial", m001_initial),
    ("002_history_and_delivery", m002_history_and_delivery),
    ("003_labels_inbox_flags", m003_labels_inbox_flags),
    ("004_read_indexes", m004_read_indexes),
    ("005_undated_claims_warnings", m005_undated_claims_warnings),
    ("006_rollups", m006_rollups),
    ("007_drop_shadowed_indexes", m007_drop_shadowed_indexes),
    ("008_term_labels", m008_term_labels),
    ("009_writer_counts_new_mentions", m009_writer_counts_new_mentions),
    ("010_priority_key", m010_priority_key),
    ("011_hour_names", m011_hour_names),
    ("012_fts_tiered_merges", m012_fts_tiered_merges),
    ("013_post_rows", m013_post_rows),
]
