"""Shared fixtures: an isolated home for every test, feed bodies, a config writer."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real user's config or database."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.delenv("MENTIONWATCH_CONFIG", raising=False)
    monkeypatch.delenv("MENTIONWATCH_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "mentionwatch.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def rss(*items: tuple[str, str, str], title: str = "Feed") -> bytes:
    """A small RSS 2.0 document from (guid, link, title + body) triples."""
    parts = [
        f"<item><guid isPermaLink='false'>{guid}</guid><link>{link}</link>"
        f"<title>{head}</title><description>{body}</description>"
        "<pubDate>Fri, 20 Nov 2026 09:15:00 +0000</pubDate></item>"
        for guid, link, text in items
        for head, _, body in [text.partition("|")]
    ]
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{title}</title><link>https://example.com/</link>{''.join(parts)}</channel></rss>"
    ).encode()
