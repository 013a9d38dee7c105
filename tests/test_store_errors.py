"""The database under stress: a newer or older release's file, a read-only file or
folder, a full disk, a file that is not a database. Each is one clear line and the
file is left consistent (and, when refused, untouched)."""

from __future__ import annotations

import ctypes
import os
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.errors import StoreError
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport, SourceState, Span
from mentionwatch.store import db as store
from mentionwatch.store.migrations import MIGRATIONS

from .conftest import rss
from .faultserver import FaultServer, feed_handler

runner = CliRunner()
CLI = [sys.executable, "-c", "from mentionwatch.cli import main; main()"]
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _mention(n: int, text: str = "Acme") -> store.NewMention:
    item = RawItem(external_id=f"x{n}", url=f"https://x.example/{n}", title=f"Acme {n}", text=text)
    return store.NewMention(
        post_id=store.post_key("s", item),
        item=item,
        match=Match("Acme", ("Acme",), (Span(0, 4, "Acme"),)),
        sentiment=Sentiment(0.0, "neutral", "vader"),
    )


def _save(db: sqlite_utils.Database, mentions: list[store.NewMention], etag: str) -> list[str]:
    return store.save_source_run(
        db,
        source="s",
        source_type="rss",
        mentions=mentions,
        state=SourceState(etag=etag),
        report=SourceReport("s", "rss", "ok", items=len(mentions)),
        fetched=NOW,
    )


# ------------------------------------------------------------------ a newer release's database


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_newer_database_is_refused_untouched(tmp_path: Path, journal: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "m.db"
    db = store.open_db(path)
    _save(db, [_mention(1)], '"v1"')
    db.close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA journal_mode = {journal}")  # a future release may choose either
    raw.execute("INSERT INTO _migrations VALUES ('999_from_the_future', '2030-01-01')")
    raw.commit()
    raw.close()
    before = _files(folder)

    with pytest.raises(StoreError, match="written by a newer mentionwatch") as caught:
        store.open_db(path)
    assert "999_from_the_future" in str(caught.value)
    assert "upgrade mentionwatch" in str(caught.value)
    assert _files(folder) == before  # same files, same bytes: not even a -wal left behind

    result = runner.invoke(app, ["mentions", "--db", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert "newer mentionwatch" in result.stderr
    assert _files(folder) == before


# ------------------------------------------------------------------ an older release's database


def _old_database(path: Path, extra_sql: str = "") -> None:
    """What release 0.0 wrote: only the first migration, with a mention in it."""
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    name, first = MIGRATIONS[0]
    first(db)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied TEXT)")
    db.execute("INSERT INTO _migrations VALUES (?, '2025-01-01 00:00:00')", [name])
    db.execute(
        "INSERT INTO posts (id, url, source, source_type, title, text, fetched)"
        " VALUES ('p1', 'https://old.example/1', 'old', 'rss', 'Acme then', 'Acme', '2025-01-01')"
    )
    db.execute(
        "INSERT INTO mentions (id, post_id, brand, matched, spans, status, created)"
        " VALUES ('abc123', 'p1', 'Acme', '[\"Acme\"]', '[[0, 4, \"Acme\"]]', 'open', '2025-01-01')"
    )
    if extra_sql:
        db.execute(extra_sql)
    db.conn.close()


def _schema(path: Path) -> list[tuple[str, str]]:
    raw = sqlite3.connect(path)
    try:
        return raw.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        raw.close()


def test_an_older_database_is_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_database(path)
    db = store.open_db(path)
    try:
        applied = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
        assert applied == sorted(name for name, _ in MIGRATIONS)
        record = store.get_mention(db, "abc123")
        assert (record["title"], record["status"]) == ("Acme then", "open")
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    # The last statement of migration 002 collides with a table already there: the
    # statements before it must be undone with it, and 001's data kept as it was.
    path = tmp_path / "old.db"
    _old_database(path, "CREATE TABLE alert_deliveries (x)")
    schema = _schema(path)
    with pytest.raises(StoreError) as caught:
        store.open_db(path)
    message = str(caught.value)
    assert "002_history_and_delivery" in message
    assert "alert_deliveries already exists" in message
    assert _schema(path) == schema
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT name FROM _migrations").fetchall() == [("001_initial",)]
    assert raw.execute("SELECT title FROM posts").fetchall() == [("Acme then",)]
    raw.close()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: milk, eggs\n" * 100)
    before = path.read_bytes()
    result = runner.invoke(app, ["mentions", "--db", str(path)])
    assert result.exit_code == 1
    assert result.stderr == f"error: {path}: cannot open the database: not an SQLite database\n"
    assert path.read_bytes() == before


# ------------------------------------------------------------------ read-only file or folder

_libc = ctypes.CDLL(None, use_errno=True)
PR_CAPBSET_DROP = 24
# Root ignores file permissions through these capabilities; without them the
# permission bits apply to root as to anyone.
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _as_an_ordinary_user() -> None:
    if os.geteuid() == 0:
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
            if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _can_act_as_an_ordinary_user() -> bool:
    try:
        subprocess.run([sys.executable, "-c", "pass"], preexec_fn=_as_an_ordinary_user, check=True)
    except (OSError, subprocess.SubprocessError):
        return False  # root without CAP_SETPCAP (some containers): permissions cannot apply
    return True


needs_permissions = pytest.mark.skipif(
    not _can_act_as_an_ordinary_user(), reason="cannot drop root's permission override here"
)


def _cli(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_as_an_ordinary_user,
        **kw,  # type: ignore[call-overload]
    )
    return done


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder with a scanned database in it; permissions restored afterwards."""
    where = tmp_path / "data"
    where.mkdir()
    db = store.open_db(where / "m.db")
    _save(db, [_mention(1)], '"v1"')
    db.close()
    yield where
    where.chmod(0o755)
    for p in where.iterdir():
        p.chmod(0o644)


@pytest.fixture
def offline_config(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text("keywords: [Acme]\nsources: [http://127.0.0.1:9/feed.xml]\n")
    return path


def _one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for word in words:
        assert word in result.stderr


@needs_permissions
def test_read_only_database_file(folder: Path, offline_config: Path) -> None:
    db_path = folder / "m.db"
    db_path.chmod(0o444)
    before = db_path.read_bytes()
    # Reading works: a read-only copy (a backup, another user's file) can be queried.
    listed = _cli(["mentions", "--db", str(db_path), "-f", "jsonl"])
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("\n") == 1
    # Writing says so before fetching anything.
    scanned = _cli(["scan", "--db", str(db_path), "-c", str(offline_config)])
    _one_clear_line(scanned, str(db_path), "read-only")
    assert db_path.read_bytes() == before


@needs_permissions
def test_read_only_folder(folder: Path, offline_config: Path) -> None:
    db_path = folder / "m.db"
    db_path.chmod(0o666)
    folder.chmod(0o555)  # the database could be written, but not its -wal, -shm and lock
    for args in (
        ["mentions", "--db", str(db_path)],
        ["scan", "--db", str(db_path), "-c", str(offline_config)],
        ["sources", "--db", str(db_path), "-c", str(offline_config)],
    ):
        _one_clear_line(_cli(args), str(folder), "read-only")


@needs_permissions
def test_database_folder_that_cannot_be_created(tmp_path: Path, offline_config: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        result = _cli(["scan", "--db", str(locked / "sub" / "m.db"), "-c", str(offline_config)])
        _one_clear_line(result, "cannot create", "permission denied")
    finally:
        locked.chmod(0o755)


# ------------------------------------------------------------------ a full disk


def test_full_disk_in_the_store_is_a_store_error_and_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = store.open_db(path)
    _save(db, [_mention(1)], '"v1"')
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # not one page more: the disk is full
    big = [_mention(n, "Acme " + f"{n} " * 5000) for n in range(2, 60)]
    with pytest.raises(StoreError, match=r"cannot write the database: .*disk is full"):
        _save(db, big, '"v2"')
    # Nothing of the failed source run stayed, and its ETag did not advance.
    assert db.execute("SELECT count(*) FROM mentions").fetchone() == (1,)
    assert db.execute("SELECT etag FROM sources WHERE name = 's'").fetchone() == ('"v1"',)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Space again: the same run goes through.
    db.execute("PRAGMA max_page_count = 1073741823")
    assert len(_save(db, big, '"v2"')) == len(big)
    db.close()


BIG_FEED = rss(
    *(
        (f"b{n}", f"https://big.example/{n}", f"Acme story {n}|" + f"Acme word{n} " * 400)
        for n in range(300)
    )
)


def test_full_disk_during_a_scan(tmp_path: Path, write_config: Callable[[str], Path]) -> None:
    with FaultServer() as server:
        server.route("small", feed_handler(rss(("s1", "https://small.example/1", "Acme|hi"))))
        server.route("big", feed_handler(BIG_FEED, etag='"big-v1"'))
        small = tmp_path / "small.yaml"
        small.write_text(
            f'database: m.db\nkeywords: [Acme]\nsources: ["{server.url("/small/f.xml")}"]\n'
        )
        config = write_config(
            f"database: m.db\nkeywords: [Acme]\nsources:\n"
            f'  - {{name: big, url: "{server.url("/big/f.xml")}"}}\n',
        )
        first = subprocess.run([*CLI, "scan", "-q", "-c", str(small)], capture_output=True)
        assert first.returncode == 0, first.stderr
        db_path = tmp_path / "m.db"
        # No file may grow past its size now plus a little: the big feed cannot fit.
        limit = max(db_path.stat().st_size, 32768) + 16384

        def tiny_disk() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        full = subprocess.run(
            [*CLI, "scan", "-c", str(config)],
            capture_output=True,
            text=True,
            preexec_fn=tiny_disk,
            timeout=60,
        )
        assert full.returncode == 1
        assert "Traceback" not in full.stderr
        assert full.stderr.startswith("error: cannot write the database: "), full.stderr
        assert "disk" in full.stderr
        raw = sqlite3.connect(db_path)
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("SELECT count(*) FROM mentions").fetchone() == (1,)
        assert raw.execute("SELECT etag FROM sources WHERE name = 'big'").fetchall() in (
            [],
            [(None,)],
        )
        raw.close()
        # With room again, the next scan stores everything the full one could not.
        again = subprocess.run([*CLI, "scan", "-q", "-c", str(config)], capture_output=True)
        assert again.returncode == 0, again.stderr
        raw = sqlite3.connect(db_path)
        assert raw.execute("SELECT count(*) FROM mentions").fetchone() == (301,)
        raw.close()
