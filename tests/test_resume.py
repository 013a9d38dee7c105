"""Nothing lost: a scan killed at any moment, and scans and readers running at once.

`mentionwatch scan` runs as a real process against many slow feeds on 127.0.0.1
(tests/faultserver.py), is SIGKILLed part-way, and the database is checked the way
the next cron run will find it. The invariant: a source's ETag is stored if and only
if all of its mentions are, so the next run fetches exactly what was missed.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mentionwatch.store.migrations import MIGRATIONS

from .conftest import rss
from .faultserver import FaultServer, feed_handler, run_cli, start_cli, wait_for

FEEDS = 40
PER_FEED = 5
DELAY = 0.25  # seconds per request: with concurrency 2 a full scan takes about 5 s


def _feed(n: int) -> bytes:
    return rss(
        *(
            (f"f{n}-{i}", f"https://feed{n}.example/{i}", f"Acme report {n}.{i}|Acme text {i}")
            for i in range(PER_FEED)
        )
    )


@pytest.fixture
def slow_feeds() -> Iterator[FaultServer]:
    with FaultServer() as server:
        for n in range(FEEDS):
            server.route(f"feed{n}", feed_handler(_feed(n), etag=f'"feed{n}-v1"', delay=DELAY))
        yield server


@pytest.fixture
def config(slow_feeds: FaultServer, write_config: Callable[[str], Path]) -> Path:
    sources = "".join(
        f'  - {{name: feed{n}, url: "{slow_feeds.url(f"/feed{n}/f.xml")}"}}\n' for n in range(FEEDS)
    )
    return write_config(
        "database: m.db\n"
        "settings: {concurrency: 2, retries: 0, timeout: 10}\n"
        "brands:\n  - {name: Acme, keywords: [Acme]}\n"
        f"sources:\n{sources}"
    )


def _state(db_path: Path) -> dict[str, tuple[str | None, int]]:
    """Per source: its stored ETag and how many of its mentions are stored."""
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "_migrations" not in tables:
            # Killed while creating it: the migrations' transaction never committed.
            assert tables == set(), tables
            return {f"feed{n}": (None, 0) for n in range(FEEDS)}
        applied = {r[0] for r in db.execute("SELECT name FROM _migrations")}
        assert applied == {name for name, _ in MIGRATIONS}
        etags = dict(db.execute("SELECT name, etag FROM sources"))
        counts = dict(
            db.execute(
                "SELECT p.source, count(*) FROM mentions m JOIN posts p ON p.id = m.post_id"
                " GROUP BY p.source"
            )
        )
    finally:
        db.close()
    return {f"feed{n}": (etags.get(f"feed{n}"), counts.get(f"feed{n}", 0)) for n in range(FEEDS)}


def _stored_sources(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    db = sqlite3.connect(db_path, timeout=5)
    try:
        return int(db.execute("SELECT count(*) FROM sources WHERE etag IS NOT NULL").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet
    finally:
        db.close()


def test_killed_scans_resume_without_loss_or_duplicates(
    slow_feeds: FaultServer, config: Path, tmp_path: Path
) -> None:
    db_path = tmp_path / "m.db"
    rng = random.Random(6)
    progress: list[int] = []
    # The first kill comes as the database file appears; each later one once the
    # run has stored something new, after a random extra moment.
    for round_ in range(5):
        before = _stored_sources(db_path)
        child = start_cli(["scan", "-q", "-c", str(config)])
        if round_ == 0:
            assert wait_for(db_path.exists, timeout=30, step=0.005)  # opening, migrating
        else:
            assert wait_for(lambda: _stored_sources(db_path) > before, timeout=30)  # noqa: B023
            time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        if not db_path.exists():
            continue
        state = _state(db_path)
        for name, (etag, count) in state.items():
            # All or nothing per source, and the ETag only with the mentions.
            assert (etag, count) in ((None, 0), (f'"{name}-v1"', PER_FEED)), (name, etag, count)
        progress.append(sum(count == PER_FEED for _, count in state.values()))
    print("sources complete after each kill:", progress)
    assert any(0 < done < FEEDS for done in progress), f"no kill landed mid-scan: {progress}"

    finished = run_cli(["scan", "-q", "-c", str(config)])
    assert finished.code == 0, finished.stderr
    state = _state(db_path)
    assert all(state[f"feed{n}"] == (f'"feed{n}-v1"', PER_FEED) for n in range(FEEDS)), state
    db = sqlite3.connect(db_path)
    urls = [r[0] for r in db.execute("SELECT url FROM posts")]
    assert len(urls) == len(set(urls)) == FEEDS * PER_FEED
    assert db.execute("SELECT count(*) FROM mentions").fetchone() == (FEEDS * PER_FEED,)
    db.close()
    # The finishing run asked with If-None-Match exactly for the sources already stored.
    for n in range(FEEDS):
        asked = [r.headers.get("if-none-match") for r in slow_feeds.requests_to(f"feed{n}")]
        if f'"feed{n}-v1"' in asked:
            first = asked.index(f'"feed{n}-v1"')
            assert all(a == f'"feed{n}-v1"' for a in asked[first:])


# Dies by SIGKILL inside a source's transaction: its mentions and its new ETag are
# written but not committed. Real code all the way; only the moment of death is chosen.
DIE_INSIDE = """
import os, signal, sys
from mentionwatch.store import db as store
real, calls = store._save_state, []
def save_state_then_die(*args, **kwargs):
    real(*args, **kwargs)
    calls.append(1)
    if len(calls) == int(os.environ["DIE_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
store._save_state = save_state_then_die
from mentionwatch.cli import main
main()
"""


def test_killed_inside_a_source_transaction(config: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "m.db"
    child = subprocess.run(
        [sys.executable, "-c", DIE_INSIDE, "scan", "-q", "-c", str(config)],
        env={**os.environ, "DIE_AT": "7"},
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL
    state = _state(db_path)
    stored = [name for name, (etag, count) in state.items() if count]
    # The seventh source's transaction died uncommitted, and with it the sources
    # grouped into the same commit (those ready at the same moment): six at most stored.
    assert len(stored) <= 6
    for name, (etag, count) in state.items():
        assert (etag, count) == ((f'"{name}-v1"', PER_FEED) if name in stored else (None, 0))
    finished = run_cli(["scan", "-q", "-c", str(config)])
    assert finished.code == 0, finished.stderr
    assert all(count == PER_FEED for _, count in _state(db_path).values())


def test_overlapping_scans_and_readers(config: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "m.db"
    first = start_cli(["scan", "-q", "-c", str(config)])
    try:
        assert wait_for(lambda: _stored_sources(db_path) >= 2, timeout=20)
        # A second scan without --wait says why it does not start.
        refused = run_cli(["scan", "-q", "-c", str(config)])
        assert refused.code == 1
        assert "another mentionwatch run is using" in refused.stderr
        assert "--wait" in refused.stderr
        assert "Traceback" not in refused.stderr
        # A second scan with --wait starts once the first is done.
        waiting = start_cli(["scan", "-q", "--wait", "60", "-c", str(config)])
        # Readers are never blocked by the writer and never see half a source.
        counts = []
        while first.poll() is None:
            listed = run_cli(["mentions", "-f", "jsonl", "--limit", "1000", "-c", str(config)])
            assert listed.code == 0, listed.stderr
            counts.append(listed.stdout.count("\n"))
        assert len(counts) >= 2
        assert all(c % PER_FEED == 0 for c in counts), counts
        assert counts == sorted(counts)
        assert waiting.wait(60) == 0, waiting.stderr.read() if waiting.stderr else ""
    finally:
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert first.returncode == 0
    state = _state(db_path)
    assert all(count == PER_FEED for _, count in state.values())
