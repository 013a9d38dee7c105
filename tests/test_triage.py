"""`mentionwatch inbox --triage` driven by CliRunner input, one key per mention: done,
ignore, assign (with a prompt), label irrelevant, skip, quit, and open in the browser
(a harmless BROWSER command that records the URL; only http(s) links are opened)."""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.store import db as store
from mentionwatch.timeutil import utcnow

from .test_inbox import add

runner = CliRunner()

CONFIG = """\
database: m.db
brands:
  - {name: Acme, keywords: [Acme]}
sources: [https://feed.example/a.xml]
"""


@pytest.fixture
def queue(tmp_path: Path, write_config: Callable[[str], Path]) -> list[str]:
    """Five mentions in inbox order (most negative first)."""
    write_config(CONFIG)
    db = store.open_db(tmp_path / "m.db")
    now = utcnow() - timedelta(hours=1)
    ids = [
        add(db, now, title=f"Acme problem {i}", score=-0.9 + 0.2 * i, author=f"user{i}")
        for i in range(5)
    ]
    db.close()
    return ids


def state(tmp_path: Path) -> dict[str, Any]:
    db = store.open_db(tmp_path / "m.db")
    try:
        rows = db.execute("SELECT id, status, assignee FROM mentions").fetchall()
        events = db.execute("SELECT mention_id, who, action, value FROM mention_events").fetchall()
        labels = db.execute("SELECT mention_id, label, labelled_by FROM labels").fetchall()
    finally:
        db.close()
    return {
        "mentions": {r[0]: (r[1], r[2]) for r in rows},
        "events": [tuple(e) for e in events],
        "labels": [tuple(x) for x in labels],
    }


def test_triage_keys(queue: list[str], tmp_path: Path) -> None:
    done, ignored, assigned, irrelevant, skipped = queue
    # Enter after a key is ignored, an unknown key asks again; "a" prompts for a name.
    result = runner.invoke(app, ["inbox", "--triage", "--as", "tom"], input="d\nziacarol\nxsq")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("[1/5]") == 1
    assert "Acme problem 0" in out
    assert "by user0 · negative -0.90" in out
    assert "https://news.example/" in out
    assert "unknown key 'z'" in out
    assert "assign to" in out
    assert "→ responded" in out
    assert "→ labelled irrelevant" in out
    assert "triage: done 1, ignored 1, assigned 1, irrelevant 1, skipped 1; 0 left" in out

    s = state(tmp_path)
    assert s["mentions"] == {
        done: ("responded", None),
        ignored: ("ignored", None),
        assigned: ("open", "carol"),
        irrelevant: ("irrelevant", None),
        skipped: ("new", None),
    }
    assert s["events"] == [
        (done, "tom", "status", "responded"),
        (ignored, "tom", "status", "ignored"),
        (assigned, "tom", "assign", "carol"),
        (assigned, "tom", "status", "open"),
        (irrelevant, "tom", "label", "irrelevant"),
        (irrelevant, "tom", "status", "irrelevant"),
    ]
    assert s["labels"] == [(irrelevant, "irrelevant", "tom")]

    # What is left: the skipped one and the assigned (open) one; quit at once.
    again = runner.invoke(app, ["inbox", "--triage", "--as", "tom"], input="q")
    assert again.exit_code == 0
    assert "[1/2]" in again.output
    assert "triage: nothing done; 2 left" in again.output


def test_triage_assign_defaults_to_me_and_end_of_input_quits(
    queue: list[str], tmp_path: Path
) -> None:
    result = runner.invoke(app, ["inbox", "--triage", "--as", "tom"], input="a\n")
    assert result.exit_code == 0, result.output
    assert "→ assigned to tom" in result.output
    assert "triage: assigned 1; 4 left" in result.output
    assert state(tmp_path)["mentions"][queue[0]] == ("open", "tom")


def test_triage_follows_inbox_filters(queue: list[str], tmp_path: Path) -> None:
    runner.invoke(app, ["assign", queue[3], "bob", "--as", "x"])
    result = runner.invoke(app, ["inbox", "--triage", "--mine", "--as", "bob"], input="d")
    assert result.exit_code == 0, result.output
    assert "[1/1]" in result.output
    assert state(tmp_path)["mentions"][queue[3]] == ("responded", "bob")
    assert runner.invoke(app, ["inbox", "--triage", "-f", "json"]).exit_code == 2


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BROWSER = a command that appends the URL it is given to a file."""
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(
        f"import sys\nopen({str(opened)!r}, 'a').write(sys.argv[1] + '\\n')\n", encoding="utf-8"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} %s")
    # webbrowser reads BROWSER once per process: make it read ours.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    return opened


def test_triage_opens_http_links_only(queue: list[str], tmp_path: Path, browser: Path) -> None:
    db = store.open_db(tmp_path / "m.db")
    db.execute(
        "UPDATE posts SET url = 'javascript:alert(1)' WHERE id = "
        "(SELECT post_id FROM mentions WHERE id = ?)",
        [queue[1]],
    )
    url = db.execute(
        "SELECT p.url FROM posts p JOIN mentions m ON m.post_id = p.id WHERE m.id = ?", [queue[0]]
    ).fetchone()[0]
    db.close()
    result = runner.invoke(app, ["inbox", "--triage", "--as", "tom"], input="osoq")
    assert result.exit_code == 0, result.output
    assert f"opened {url}" in result.output
    assert "not opened: only http(s) links are opened (javascript:alert(1))" in result.output
    assert browser.read_text(encoding="utf-8") == url + "\n"
    # Opening changes nothing; the first was then skipped.
    assert state(tmp_path)["events"] == []


@pytest.mark.parametrize("args", [["inbox", "--triage"], ["label", "--interactive"]])
def test_interactive_modes_refuse_without_a_terminal_before_drawing(
    args: list[str], queue: list[str], tmp_path: Path
) -> None:
    """A real process with no terminal at all (own session, stdin not a tty): one line,
    exit 2, and no card drawn first."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mentionwatch", *args],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: {args[1]} needs a terminal to read keys from"
    ]
