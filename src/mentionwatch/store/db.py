"""The SQLite store: the only place that opens and migrates the database, and the
reads and writes every command shares. Each source's mentions and its new state
are written in one transaction, so a cursor never moves past unsaved mentions."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from ..analysis.priority import priority_key
from ..errors import ConfigError, StoreError
from ..models import Match, RawItem, Sentiment, SourceReport, SourceState, Span
from ..timeutil import from_iso, to_iso
from ..urls import canonical_url, clean_url
from . import rollup, search, stats
from .migrations import FILL_POST_ROWS, MIGRATIONS, count_new_mentions

MAX_TEXT_CHARS = 100_000  # what we keep of a post: enough to re-match, bounded on disk
CONTEXT_CHARS = 300  # kept on each side of a match beyond the cap (what `show` quotes)
GAP = " … "  # where fit_text left text out
BUSY_TIMEOUT_MS = 30_000  # how long a second writer (cron overlap) waits for the lock
CACHE_KIB = 32_000  # SQLite page cache per connection, in KiB


def open_db(
    path: str | Path, *, create: bool = True, writable: bool = False
) -> sqlite_utils.Database:
    """Open (and create or migrate) the database. Refuses a newer schema untouched.

    ``writable``: the caller is about to write (a scan), so a read-only database is
    refused now, not after a minute of fetching. Without it a read-only database
    that needs no migration can still be read.
    """
    p = Path(path)
    memory = str(p) == ":memory:"
    if not memory:
        if not create and not p.exists():
            raise StoreError(f"{p}: no database here yet (run `mentionwatch scan` first)")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise StoreError(f"{p}: cannot create the database folder: {reason}") from None
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing commits early.
        conn = sqlite3.connect(str(p), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"{p}: cannot open the database: {describe_db_error(exc)}") from None
    db = sqlite_utils.Database(conn)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        # 32 MB of page cache instead of SQLite's 2 MB: ids are hashes, so a scan's
        # inserts land on random index pages, and a digest reads index ranges larger
        # than 2 MB. Measured: a dense 200-feed scan 20-30 % faster.
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        # Before anything that writes (even the journal mode lives in the file's
        # header): a newer release's database must stay exactly as it is.
        _refuse_newer(db, p, _applied(db))
        if not memory:
            db.execute("PRAGMA journal_mode = WAL")
            # With WAL, NORMAL never corrupts; a power cut may undo the last commits, and
            # as each source's state commits with its mentions, the next scan refetches them.
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(f"PRAGMA journal_size_limit = {WAL_KEEP_BYTES}")
        _migrate(db, p)
        if writable:
            _check_writable(db, p)
        _fill_post_rows(db)
    except sqlite3.Error as exc:
        conn.close()  # no -wal / -shm left behind by a refused open
        raise StoreError(f"{p}: cannot open the database: {describe_db_error(exc)}") from None
    except BaseException:
        conn.close()
        raise
    return db


def _fill_post_rows(db: sqlite_utils.Database) -> None:
    """Give mentions another tool inserted their post's rowid (migration 013): reads
    reach posts by it. Finding none, the usual case, is one index seek. A store that
    cannot be written keeps them as they are, and reads miss them until it can."""
    if db.execute("SELECT 1 FROM mentions WHERE post_row IS NULL LIMIT 1").fetchone() is None:
        return
    with contextlib.suppress(sqlite3.Error, StoreError), transaction(db):
        db.execute(FILL_POST_ROWS)


def _applied(db: sqlite_utils.Database) -> set[str]:
    """Names of the migrations this database has had (none for a new file)."""
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if found is None:
        return set()
    return {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}


def _refuse_newer(db: sqlite_utils.Database, path: Path, done: set[str]) -> None:
    unknown = done - {name for name, _ in MIGRATIONS}
    if unknown:
        raise StoreError(
            f"{path}: this database was written by a newer mentionwatch "
            f"(unknown migrations: {', '.join(sorted(unknown))}); upgrade mentionwatch"
        )


def _migrate(db: sqlite_utils.Database, path: Path) -> None:
    if {name for name, _ in MIGRATIONS} <= _applied(db):
        return  # up to date: no write lock needed, so readers never wait for a writer
    with transaction(db):
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT)")
        done = _applied(db)  # again, under the write lock: another process may have won
        _refuse_newer(db, path, done)
        for name, apply in MIGRATIONS:
            if name in done:
                continue
            try:
                apply(db)
            except sqlite3.Error as exc:
                # All or nothing: the transaction undoes every migration of this open.
                raise StoreError(
                    f"{path}: cannot upgrade the database: migration {name} failed: "
                    f"{describe_db_error(exc)}"
                ) from None
            db.execute(
                "INSERT INTO _migrations (name, applied) VALUES (?, datetime('now'))", [name]
            )


def _check_writable(db: sqlite_utils.Database, path: Path) -> None:
    """Fail now if writes will fail: a statement that writes nothing still needs the
    write permission SQLite checks for."""
    try:
        with transaction(db):
            db.execute("DELETE FROM _migrations WHERE 0")
    except StoreError as exc:
        raise StoreError(f"{path}: {exc}") from None


# SQLite's result codes in words a user can act on (extended codes share the prefix).
_DB_PROBLEMS = {
    "SQLITE_READONLY": "the database is read-only (check the permissions of the file "
    "and of its folder, which must hold the -wal, -shm and .lock files too)",
    "SQLITE_FULL": "the disk is full",
    "SQLITE_IOERR": "disk I/O error (is the disk full?)",
    "SQLITE_CANTOPEN": "cannot open the file (check the path and the folder's permissions)",
    "SQLITE_PERM": "permission denied",
    "SQLITE_NOTADB": "not an SQLite database",
    "SQLITE_CORRUPT": "the database file is damaged (restore a backup)",
    "SQLITE_BUSY": "the database is locked by another program",
    "SQLITE_LOCKED": "the database is locked by another program",
}


def _problem(exc: sqlite3.Error) -> str | None:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    for prefix, words in _DB_PROBLEMS.items():
        if name == prefix or name.startswith(prefix + "_"):
            return words
    return None


def describe_db_error(exc: sqlite3.Error) -> str:
    """An SQLite error in words (its own message when it is none of the usual ones)."""
    return _problem(exc) or str(exc)


def _rollback(db: sqlite_utils.Database) -> None:
    # SQLite may already have rolled back by itself (a full disk, an I/O error): a
    # second ROLLBACK would fail and hide the error that matters.
    if db.conn.in_transaction:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")


# SQLite copies the write-ahead log back into the database (a checkpoint, with two
# fsyncs) at the first commit after the log passes 1,000 pages. A scan into a large
# store dirties a page for nearly every new row of each index keyed by a hash (ids of
# posts and mentions), so each group commit passed that mark and paid a checkpoint of
# pages scattered over the file. Checkpointed once at the end instead (a page written
# by several commits is copied once, in file order): 40k mentions written into a
# 1M-mention store went from 2.06x to 1.66x the time into an empty one (measured with a
# 100k-page limit), and the dense 200-feed scan from 1.42x to 1.37x (median of 3). The
# log may grow to SCAN_WAL_PAGES 4 KiB pages meanwhile; WAL_KEEP_BYTES of it stay on
# disk once it is reset.
DEFAULT_WAL_PAGES = 1_000
SCAN_WAL_PAGES = 50_000
WAL_KEEP_BYTES = 64 * 1024 * 1024


@contextmanager
def checkpoint_after(db: sqlite_utils.Database) -> Iterator[None]:
    """Write many transactions with one checkpoint at the end, not one every few."""
    db.execute(f"PRAGMA wal_autocheckpoint = {SCAN_WAL_PAGES}")
    try:
        yield
    finally:
        # A failure here loses nothing (what is in the log is in the database, and a
        # later checkpoint copies it back), and must not hide the error that ended a scan.
        with suppress(sqlite3.Error):
            db.execute(f"PRAGMA wal_autocheckpoint = {DEFAULT_WAL_PAGES}")
            # PASSIVE: never waits for a reader; what a reader holds back is copied by
            # the next commit's automatic checkpoint or the last connection's close.
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error.

    A write the environment refuses (full disk, read-only file, I/O error, a lock
    held past the busy timeout) becomes a StoreError saying so; other errors pass
    through unchanged.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write the database: {describe_db_error(exc)}") from None
    try:
        yield
    except sqlite3.Error as exc:
        _rollback(db)
        if _problem(exc) is None:
            raise
        raise StoreError(f"cannot write the database: {describe_db_error(exc)}") from None
    except BaseException:
        _rollback(db)
        raise
    try:
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(db)
        raise StoreError(f"cannot write the database: {describe_db_error(exc)}") from None


def _hash(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def post_key(source: str, item: RawItem) -> str:
    """One key per post: its canonical URL when it has one, else source + external id."""
    if item.url:
        return _hash("url", canonical_url(item.url))
    return _hash("id", source, item.external_id)


def fit_text(
    item: RawItem, matches: Sequence[Match], limit: int = MAX_TEXT_CHARS
) -> tuple[RawItem, list[Match]]:
    """The item with its text within ``limit`` characters, and its matches with spans
    that still point at their terms. A plain cut at the limit would keep a mention
    found further on while losing its words: `show` could not quote it and re-matching
    (test-query) would not find it. So the text keeps its head and, joined by GAP, the
    ``CONTEXT_CHARS`` around every match beyond it."""
    text = item.text
    if len(text) <= limit:
        return item, list(matches)
    offset = len(item.title) + 1  # spans count in title + "\n" + text
    windows: list[tuple[int, int]] = []
    for start, end in sorted(
        {(s.start - offset, s.end - offset) for m in matches for s in m.spans}
    ):
        if end <= 0:
            continue  # in the title: untouched
        lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
        if windows and lo <= windows[-1][1] + len(GAP):
            windows[-1] = (windows[-1][0], max(windows[-1][1], hi))
        else:
            windows.append((lo, hi))
    # Grow the head while every window not inside it still fits whole after it; the
    # windows are dropped from the last only when the matches alone overflow the limit.
    head = 0
    while True:
        outside = [w for w in windows if w[1] > head]
        cost = sum(hi - lo + len(GAP) for lo, hi in outside)
        while outside and cost > limit:
            dropped = outside.pop()
            windows.remove(dropped)
            cost -= dropped[1] - dropped[0] + len(GAP)
        grown = min([limit - cost, *(lo for lo, _ in outside if lo < limit - cost)])
        if grown <= head:
            break
        head = grown
    pieces = ([(0, head)] if head else []) + [w for w in windows if w[1] > head]
    placed: list[tuple[int, int, int]] = []  # (start, end, where it starts in the new text)
    parts: list[str] = []
    at = 0
    for lo, hi in pieces:
        if parts:
            parts.append(GAP)
            at += len(GAP)
        parts.append(text[lo:hi])
        placed.append((lo, hi, at))
        at += hi - lo

    def moved(span: Span) -> Span | None:
        start, end = span.start - offset, span.end - offset
        if end <= 0:
            return span
        for lo, hi, where in placed:
            if lo <= start and end <= hi:
                return Span(offset + where + start - lo, offset + where + end - lo, span.term)
        return None  # in a window that did not fit (thousands of matches): not quoted

    fitted = [
        dataclasses.replace(m, spans=tuple(s for s in map(moved, m.spans) if s is not None))
        for m in matches
    ]
    return dataclasses.replace(item, text="".join(parts)), fitted


def mention_key(post_id: str, brand: str) -> str:
    return _hash(post_id, brand.casefold())


# ------------------------------------------------------------------ source state


def load_states(db: sqlite_utils.Database) -> dict[str, SourceState]:
    rows = db.execute("SELECT name, etag, last_modified, cursor FROM sources").fetchall()
    return {r[0]: SourceState(etag=r[1], last_modified=r[2], cursor=r[3]) for r in rows}


@dataclass(frozen=True, slots=True)
class NewMention:
    post_id: str  # post_key(source, item), computed once by the caller
    item: RawItem
    match: Match
    sentiment: Sentiment
    # The publish time the source gave when it was later than the fetch time (the item
    # then carries the fetch time): kept, never shown as when the post appeared.
    published_claimed: datetime | None = None


def existing_mentions(db: sqlite_utils.Database, ids: Sequence[str]) -> set[str]:
    return _existing(db, "mentions", ids)


def _existing(db: sqlite_utils.Database, table: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are stored in ``table`` (its primary-key index only)."""
    found: set[str] = set()
    for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = list(ids[i : i + 500])
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in db.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", chunk)  # noqa: S608
        )
    return found


@dataclass(frozen=True, slots=True)
class SourceRun:
    """What one source's fetch left to store: its new mentions, its new state, its report."""

    source: str
    source_type: str
    mentions: Sequence[NewMention]
    state: SourceState | None
    report: SourceReport


def save_source_runs(
    db: sqlite_utils.Database, runs: Sequence[SourceRun], *, fetched: datetime
) -> list[list[str]]:
    """Store several sources' runs in one transaction: each run's new mentions and its
    state together, as ``save_source_run`` does. Returns each run's new mention ids.

    A commit costs a few milliseconds whatever it writes (every index touched gets its
    pages written to the journal), so a scan of thousands of small sources groups the
    ones that are ready at the same moment. A mention two runs of one group both found
    counts as new in the first only."""
    now = to_iso(fetched)
    counts = rollup.NewCounts()
    elsewhere: list[str] = []  # new mentions of posts stored before: counted from the store
    with transaction(db):
        new_ids = [_write_run(db, run, now, counts, elsewhere) for run in runs]
        counts.write(db)
        count_new_mentions(db, elsewhere)
        _refresh_statistics(db)
    return new_ids


# The query planner's statistics (sqlite_stat1) are taken when a store is created
# (migration 004), with its tables all but empty, and nothing took them again: FTS5's
# own statements then planned for a 2-row index table, and the cost of storing a post
# grew with the store (writing 60k mentions into a new store: 5.4 s in post inserts,
# 2.0 s with statistics taken after the first few thousand). Taken again (stats), each
# time the mentions have doubled: about twenty times in a store's life.
STATS_MIN_MENTIONS = 1_000


def _refresh_statistics(db: sqlite_utils.Database) -> None:
    try:
        row = db.execute(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'mentions' AND idx = ?",
            ["sqlite_autoindex_mentions_1"],
        ).fetchone()
    except sqlite3.OperationalError:  # no sqlite_stat1 at all
        row = None
    known = int(str(row[0]).split()[0]) if row else 0
    stored = db.execute("SELECT max(rowid) FROM mentions").fetchone()[0] or 0
    if stored >= max(STATS_MIN_MENTIONS, 2 * known):
        stats.take_statistics(db)


def save_source_run(
    db: sqlite_utils.Database,
    *,
    source: str,
    source_type: str,
    mentions: Sequence[NewMention],
    state: SourceState | None,
    report: SourceReport,
    fetched: datetime,
) -> list[str]:
    """Store one source's new mentions and its state together. Returns new mention ids."""
    run = SourceRun(source, source_type, mentions, state, report)
    return save_source_runs(db, [run], fetched=fetched)[0]


def _write_run(
    db: sqlite_utils.Database,
    run: SourceRun,
    now: str | None,
    counts: rollup.NewCounts,
    elsewhere: list[str],
) -> list[str]:
    """One run's rows, inside the caller's transaction: one ``executemany`` per table,
    since a dense source (every post a mention) would otherwise pay a statement a row.
    Its new mentions go into ``counts`` (their post written here too) or ``elsewhere``."""
    source, source_type = run.source, run.source_type
    posts: dict[str, list[Any]] = {}
    rows: dict[str, list[Any]] = {}
    for nm in run.mentions:
        item, pid = nm.item, nm.post_id
        posts.setdefault(
            pid,
            [
                pid,
                clean_url(item.url),  # shown to people: without tracking parameters
                canonical_url(item.url) if item.url else None,
                item.external_id,
                source,
                source_type,
                item.title[:MAX_TEXT_CHARS],
                item.text[:MAX_TEXT_CHARS],
                item.author,
                to_iso(item.published),
                now,
                item.lang or nm.sentiment.lang,  # the source's word, else detected
                json.dumps(dict(item.counters)) if item.counters else None,
                item.reach,
                to_iso(nm.published_claimed),
            ],
        )
        mid = mention_key(pid, nm.match.brand)
        if mid in rows:
            continue  # the first of a run's duplicates is the one stored
        at = from_iso(posts[pid][9] or now)  # as stored: COALESCE(published, fetched)
        assert at is not None  # neither is ever empty
        rows[mid] = [
            mid,
            pid,
            nm.match.brand,
            json.dumps(list(nm.match.terms), ensure_ascii=False),
            json.dumps([[s.start, s.end, s.term] for s in nm.match.spans]),
            nm.sentiment.score,
            nm.sentiment.label,
            nm.sentiment.engine,
            now,
            priority_key(nm.sentiment.score, posts[pid][13], at),
        ]
    # Under the write lock, so no other writer can add one of these in between:
    # what is not stored yet is exactly what the inserts below add.
    known = existing_mentions(db, list(rows))
    posts_before = _existing(db, "posts", list(posts))
    db.conn.executemany(
        """INSERT OR IGNORE INTO posts (id, url, canonical_url, external_id, source,
           source_type, title, text, author, published, fetched, lang, counters, reach,
           published_claimed)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        list(posts.values()),
    )
    db.conn.executemany(
        """INSERT OR IGNORE INTO mentions (id, post_id, brand, matched, spans, sentiment,
           sentiment_label, sentiment_engine, status, created, priority_key, post_row)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'new', ?9, ?10,
                   (SELECT rowid FROM posts WHERE id = ?2))""",
        list(rows.values()),
    )
    new_ids = [mid for mid in rows if mid not in known]
    for mid in new_ids:
        mention = rows[mid]
        post = posts[mention[1]]
        if mention[1] in posts_before:
            elsewhere.append(mid)
            continue
        counts.add(
            at=post[9] or post[10],  # COALESCE(published, fetched)
            brand=mention[2],
            label=mention[6],
            score=mention[5],
            reach=post[13],
            source=post[4],
            author=post[8],
            matched=mention[3],
        )
    _save_state(db, source, source_type, run.state, run.report, now, len(new_ids))
    return new_ids


def save_source_states(
    db: sqlite_utils.Database,
    runs: Sequence[tuple[str, str, SourceState | None, SourceReport]],
    fetched: datetime,
) -> None:
    """Health and state of sources that produced no mentions (304s, errors), in one
    transaction: nothing to keep atomic with, and 500 commits cost more than the fetches."""
    now = to_iso(fetched)
    with transaction(db):
        for name, source_type, state, report in runs:
            _save_state(db, name, source_type, state, report, now, 0)


def _save_state(
    db: sqlite_utils.Database,
    name: str,
    source_type: str,
    state: SourceState | None,
    report: SourceReport,
    now: str | None,
    new_mentions: int,
) -> None:
    db.execute("INSERT OR IGNORE INTO sources (name, type) VALUES (?, ?)", [name, source_type])
    fields: dict[str, Any] = {
        "type": source_type,
        "last_run": now,
        "last_status": report.status,
        "last_items": report.items,
        "last_mentions": new_mentions,
        "last_seconds": round(report.seconds, 3),
        # "malformed feed, kept what was readable" and kin: kept so that `sources`,
        # the digest and the next (cron) run can tell someone.
        "last_warnings": _warnings_json(report),
    }
    if state is not None:  # an error keeps the old ETag/cursor: nothing was stored
        fields.update(etag=state.etag, last_modified=state.last_modified, cursor=state.cursor)
    if report.status == "error":
        fields.update(last_error=report.error, last_error_at=now)
    else:
        fields.update(last_success=now)
    assignments = ", ".join(f"{k} = ?" for k in fields)
    db.execute(f"UPDATE sources SET {assignments} WHERE name = ?", [*fields.values(), name])  # noqa: S608
    db.execute(
        """INSERT INTO source_runs (source, type, status, items, new_mentions, error, seconds, at,
           warnings)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            name,
            source_type,
            report.status,
            report.items,
            new_mentions,
            report.error,
            round(report.seconds, 3),
            now,
            _warnings_json(report),
        ],
    )


def _warnings_json(report: SourceReport) -> str | None:
    return json.dumps(list(report.warnings), ensure_ascii=False) if report.warnings else None


def warnings_of(row: dict[str, Any], key: str = "last_warnings") -> list[str]:
    """The warnings stored in a sources or source_runs row ([] for none)."""
    raw = row.get(key)
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [str(w) for w in value] if isinstance(value, list) else []


def record_run(
    db: sqlite_utils.Database,
    started: datetime,
    finished: datetime,
    sources: int,
    failed: int,
    new_mentions: int,
) -> None:
    with transaction(db):
        db.execute(
            "INSERT INTO runs (started, finished, sources, failed, new_mentions)"
            " VALUES (?, ?, ?, ?, ?)",
            [to_iso(started), to_iso(finished), sources, failed, new_mentions],
        )


def source_health(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in db.query("SELECT * FROM sources")}


# ------------------------------------------------------------------ reading mentions

_SELECT = """
SELECT m.id, m.brand, p.source, p.source_type, p.url, p.title, p.text, p.author,
       p.published, p.fetched, m.sentiment, m.sentiment_label, p.lang, m.matched,
       m.status, p.reach, m.spans, m.sentiment_engine, p.counters
FROM mentions m JOIN posts p ON p.rowid = m.post_row
"""
# Listings are newest first with a LIMIT: walking posts by time (the posts_at index)
# and stopping at the limit reads what is shown; SQLite's own choice (every mention of a
# brand, then a sort) reads the whole brand. CROSS JOIN fixes that order of the join.
_SELECT_NEWEST = _SELECT.replace(
    "FROM mentions m JOIN posts p ON p.rowid = m.post_row",
    "FROM posts p CROSS JOIN mentions m ON p.rowid = m.post_row",
)
RECORD_FIELDS = (
    "id", "brand", "source", "source_type", "url", "title", "text", "author", "published",
    "fetched", "sentiment", "sentiment_label", "lang", "matched", "status", "reach",
)  # fmt: skip


def _record(row: dict[str, Any], *, extra: bool = False) -> dict[str, Any]:
    rec = {k: row[k] for k in RECORD_FIELDS}
    rec["matched"] = json.loads(row["matched"])
    if extra:
        rec["spans"] = [{"start": s, "end": e, "term": t} for s, e, t in json.loads(row["spans"])]
        rec["sentiment_engine"] = row["sentiment_engine"]
        rec["counters"] = json.loads(row["counters"]) if row["counters"] else {}
    return rec


@dataclass(frozen=True, slots=True)
class MentionFilter:
    brand: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sentiment: str | None = None
    status: str | None = None
    search: str | None = None
    ids: tuple[str, ...] | None = None
    limit: int | None = None
    # Mentions labelled irrelevant stay stored but leave listings unless asked for:
    # by this flag, by ``status="irrelevant"``, or by naming their ``ids``.
    include_irrelevant: bool = False
    flag: str | None = None  # only mentions this policy rule flagged (mention_flags.rule)


_SEARCH = "p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)"
Clause = tuple[str, list[Any]]  # an SQL condition over p and m, and its parameters


def query_mentions(db: sqlite_utils.Database, f: MentionFilter) -> list[dict[str, Any]]:
    """Mention records, newest first (by published time, else fetch time)."""
    conditions: list[tuple[object, str, Any]] = [
        (f.brand, "m.brand = ? COLLATE NOCASE", f.brand),
        (f.source, "p.source = ?", f.source),
        (f.since, "COALESCE(p.published, p.fetched) >= ?", to_iso(f.since)),
        (f.until, "COALESCE(p.published, p.fetched) < ?", to_iso(f.until)),
        (f.sentiment, "m.sentiment_label = ?", f.sentiment),
        (f.status, "m.status = ?", f.status),
        (
            f.flag,
            "m.id IN (SELECT mention_id FROM mention_flags WHERE rule = ? COLLATE NOCASE)",
            f.flag,
        ),
    ]
    clauses: list[Clause] = [(clause, [param]) for given, clause, param in conditions if given]
    if f.ids is not None:
        clauses.append((f"m.id IN ({','.join('?' * len(f.ids))})", list(f.ids)))
    elif not f.include_irrelevant and f.status is None:
        clauses.append(("m.status != 'irrelevant'", []))
    try:
        rows = None
        if f.search and f.ids is None and f.limit is not None:
            rows = _newest_matches(db, f.search, clauses, f.limit)
        if rows is None:
            if f.search:
                clauses.append((_SEARCH, [f.search]))
            rows = _listing(db, clauses, by_id=f.ids is not None, limit=f.limit)
    except sqlite3.OperationalError as exc:
        if f.search:  # the only user-written SQL fragment: blame it
            raise ConfigError(f"--search: invalid full-text query {f.search!r}: {exc}") from None
        raise StoreError(f"cannot read mentions: {exc}") from None
    if f.ids is not None:  # keep the order the caller asked for
        order = {mid: i for i, mid in enumerate(f.ids)}
        rows.sort(key=lambda r: order.get(r["id"], 0))
    return [_record(r) for r in rows]


def _listing(
    db: sqlite_utils.Database, clauses: list[Clause], *, by_id: bool, limit: int | None
) -> list[dict[str, Any]]:
    # Given ids, finding them by id is the short way; else walk the newest posts first.
    sql = _SELECT if by_id else _SELECT_NEWEST
    if clauses:
        sql += " WHERE " + " AND ".join(c for c, _ in clauses)
    sql += " ORDER BY COALESCE(p.published, p.fetched) DESC, m.id"
    params = [v for _, values in clauses for v in values]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return list(db.query(sql, params))


def _newest_matches(
    db: sqlite_utils.Database, match: str, clauses: list[Clause], limit: int
) -> list[dict[str, Any]] | None:
    """A search's listing from the newest posts, checked a chunk at a time against the
    full-text index (store.search); None when the whole match set is the cheaper way."""
    # Conditions on the post alone narrow the walk itself (posts_at holds their columns).
    on_posts = [(c, v) for c, v in clauses if c.startswith(("p.source", "COALESCE(p."))]
    sql = _SELECT_NEWEST.replace("SELECT ", "SELECT COALESCE(p.published, p.fetched) AS at, ", 1)
    sql += " WHERE p.rowid IN (SELECT value FROM json_each(?))"
    sql += "".join(f" AND {c}" for c, _ in clauses)
    sql += " ORDER BY COALESCE(p.published, p.fetched) DESC, m.id LIMIT ?"
    params = [v for _, values in clauses for v in values]

    def page(rowids: Sequence[int]) -> list[dict[str, Any]]:
        return list(db.query(sql, [json.dumps(list(rowids)), *params, limit]))

    return search.newest_matches(
        db,
        match,
        " AND ".join(c for c, _ in on_posts) or "1",
        [v for _, values in on_posts for v in values],
        page,
        limit,
    )


def get_mention(db: sqlite_utils.Database, ident: str) -> dict[str, Any]:
    """One mention by id or unambiguous id prefix (like git), with spans and counters."""
    ident = ident.strip().lower()
    if not ident or not all(c in "0123456789abcdef" for c in ident):
        raise ConfigError(f"no mention with id {ident!r} (ids are hexadecimal)")
    rows = list(db.query(_SELECT + " WHERE m.id LIKE ? LIMIT 3", [ident + "%"]))
    if not rows:
        raise ConfigError(f"no mention with id {ident!r}")
    if len(rows) > 1 and rows[0]["id"] != ident:
        raise ConfigError(f"id prefix {ident!r} is ambiguous: give more characters")
    return _record(rows[0], extra=True)


def resolve_mention_ids(db: sqlite_utils.Database, idents: Sequence[str]) -> list[str]:
    """Full ids for ids or unambiguous prefixes (as ``get_mention`` takes them), in the
    order given, each once. Every unknown or ambiguous one is named in one ConfigError,
    so a command given a bad id writes nothing."""
    found: list[str] = []
    problems: list[str] = []
    for raw in idents:
        ident = raw.strip().lower()
        if not ident or not all(c in "0123456789abcdef" for c in ident):
            problems.append(f"no mention with id {raw!r} (ids are hexadecimal)")
            continue
        rows = [
            r[0]
            for r in db.execute(
                "SELECT id FROM mentions WHERE id LIKE ? ORDER BY id LIMIT 2", [ident + "%"]
            )
        ]
        if ident in rows:
            full = ident
        elif len(rows) == 1:
            full = rows[0]
        else:
            problems.append(
                f"id prefix {ident!r} is ambiguous: give more characters"
                if rows
                else f"no mention with id {ident!r}"
            )
            continue
        if full not in found:
            found.append(full)
    if problems:
        raise ConfigError("; ".join(problems))
    return found
