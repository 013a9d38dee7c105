"""Overlapping runs (cron): the second one waits a bounded time or says why it stops."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.store.locking import LockedError, hold

HOLDER = """
import sys, time
from pathlib import Path
from mentionwatch.store.locking import hold
with hold(Path(sys.argv[1]), "scan"):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold_in_child(db: Path, seconds: float) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    return child


def test_second_scan_exits_with_a_clear_message(
    tmp_path: Path, write_config: Callable[[str], Path]
) -> None:
    write_config("keywords: [Acme]\nsources: [http://127.0.0.1:9/feed.xml]\n")
    db = tmp_path / "m.db"
    child = _hold_in_child(db, 30)
    try:
        result = CliRunner().invoke(app, ["scan", "--db", str(db)])
        assert result.exit_code == 1
        assert "another mentionwatch run is using" in result.stderr
        assert f"pid {child.pid}" in result.stderr
        assert not db.exists()  # it did not even open the database
    finally:
        child.kill()
        child.wait()


def test_waits_a_bounded_time_then_proceeds(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    child = _hold_in_child(db, 1)
    started = time.monotonic()
    with hold(db, "digest", wait=20):
        waited = time.monotonic() - started
    child.wait()
    assert waited < 20  # got the lock once the holder finished, not at the deadline


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    child = _hold_in_child(db, 60)
    child.kill()
    child.wait()
    with hold(db, "scan"):
        pass


def test_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with (
        hold(db, "scan"),
        pytest.raises(LockedError, match="not starting this digest"),
        hold(db, "digest"),
    ):
        pass
