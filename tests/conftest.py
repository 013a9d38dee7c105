"""Shared fixtures: an isolated home for every test, feed bodies, a config writer."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mentionwatch.config.model import Brand, Settings, SourceConfig
from mentionwatch.models import FetchResult, SourceState
from mentionwatch.sources import SourceContext, build
from mentionwatch.sources.http import make_client

FIXTURES = Path(__file__).parent / "fixtures"


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


def fetch_with(
    source_type: str,
    *,
    keywords: tuple[str, ...] = ("Acme",),
    state: SourceState | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> FetchResult:
    """Build the adapter for ``source_type`` as the config loader would and run one fetch.

    ``options`` are the source's config keys (``base_url=...``, ``tags=[...]``...).
    """
    url = options.pop("url", None)
    base_url = options.pop("base_url", None)
    config = SourceConfig(
        name=f"test-{source_type}",
        type=source_type,
        url=url,
        base_url=base_url.rstrip("/") if base_url else None,
        options=tuple(options.items()),
    )
    brands = (Brand(name=keywords[0], keywords=keywords),)
    context = SourceContext(settings or Settings(retries=0, timeout=5), brands)
    adapter = build(config, context)

    async def run() -> FetchResult:
        async with make_client(context.settings) as client:
            return await adapter.fetch(client, state or SourceState())

    return asyncio.run(run())


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()
