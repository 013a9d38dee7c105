"""The scan's progress bar: shown on a terminal once a scan takes over PROGRESS_DELAY,
at once with --progress, never with --no-progress, and never without a terminal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from rich.progress import Progress

from mentionwatch.cli import base, scan
from mentionwatch.configure import parse_config
from mentionwatch.store import db as store

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Acme is great</title><link>https://x.example/1</link><guid>1</guid></item>
</channel></rss>"""


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the bar's start and stop instead of drawing on the test's stderr."""
    calls: list[str] = []
    monkeypatch.setattr(Progress, "start", lambda self: calls.append("start"))
    monkeypatch.setattr(Progress, "stop", lambda self: calls.append("stop"))
    return calls


def _run(
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    terminal: bool,
    progress: bool | None,
    delay: float = 0.0,
) -> int:
    def slow_feed(request: object) -> object:
        from werkzeug import Response

        time.sleep(delay)
        return Response(FEED, content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(slow_feed)  # type: ignore[arg-type]
    monkeypatch.setattr(base.sys.stderr, "isatty", lambda: terminal)
    cfg = parse_config(
        "brands: [{name: Acme, keywords: [Acme]}]\n"
        f"sources: [{httpserver.url_for('/feed.xml')}]\n"
    )
    db = store.open_db(tmp_path / "m.db")
    try:
        report = scan.run_scan(cfg, db, [], quiet=False, progress=progress)
    finally:
        db.close()
    return len(report.new_mention_ids)


def test_fast_scan_shows_no_bar(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shown: list[str]
) -> None:
    assert _run(httpserver, tmp_path, monkeypatch, terminal=True, progress=None) == 1
    assert shown == []


def test_slow_scan_shows_the_bar(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shown: list[str]
) -> None:
    monkeypatch.setattr(scan, "PROGRESS_DELAY", 0.1)
    assert _run(httpserver, tmp_path, monkeypatch, terminal=True, progress=None, delay=0.6) == 1
    assert shown == ["start", "stop"]


def test_progress_flag_shows_it_at_once_and_no_progress_never(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shown: list[str]
) -> None:
    _run(httpserver, tmp_path, monkeypatch, terminal=True, progress=True, delay=0.3)
    assert shown == ["start", "stop"]
    shown.clear()
    monkeypatch.setattr(scan, "PROGRESS_DELAY", 0.0)
    _run(httpserver, tmp_path, monkeypatch, terminal=True, progress=False, delay=0.3)
    assert shown == []


def test_no_terminal_no_bar(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shown: list[str]
) -> None:
    monkeypatch.setattr(scan, "PROGRESS_DELAY", 0.0)
    _run(httpserver, tmp_path, monkeypatch, terminal=False, progress=True, delay=0.3)
    assert shown == []
