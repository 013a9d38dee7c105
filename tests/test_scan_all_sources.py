"""One scan over every source type at once, all served by one HTTP server on 127.0.0.1.

Each adapter's own tests pin its items exactly; this one proves they work together
through the real pipeline: one client, concurrency, one store, per-source state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.sources import REGISTRY
from mentionwatch.store import db as store

from .conftest import fixture_bytes

# type -> (path the adapter requests under its root, fixture, content type)
SERVED = {
    "hackernews": ("/hn/api/v1/search_by_date", ("hackernews", "page0.json"), "application/json"),
    "reddit": ("/reddit/search.json", ("reddit", "search_page1.json"), "application/json"),
    "mastodon": (
        "/masto/api/v1/timelines/tag/acme",
        ("mastodon", "page1.json"),
        "application/json",
    ),
    "bluesky": (
        "/bsky/xrpc/app.bsky.feed.searchPosts",
        ("bluesky", "page1.json"),
        "application/json",
    ),
    "googlenews": ("/gnews/rss/search", ("googlenews", "search.xml"), "application/rss+xml"),
    "bingnews": ("/bing/news/search", ("bingnews", "search.xml"), "application/rss+xml"),
    "youtube": ("/yt/feeds/videos.xml", ("youtube", "channel.xml"), "application/atom+xml"),
    "stackexchange": (
        "/se/2.3/search/advanced",
        ("stackexchange", "page1.json"),
        "application/json",
    ),
    "github": ("/gh/search/issues", ("github", "issues_page1.json"), "application/json"),
    "lemmy": ("/lemmy/api/v3/search", ("lemmy", "posts_page1.json"), "application/json"),
    "discourse": ("/forum/search.json", ("discourse", "page1.json"), "application/json"),
    "web": ("/page.html", ("web", "news_article.html"), "text/html; charset=utf-8"),
    "rss": ("/feed.xml", ("feeds", "rss20.xml"), "application/rss+xml"),
}


def test_every_source_type_in_one_scan(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    assert set(SERVED) == set(REGISTRY), "a new source type needs a line here"
    for path, fixture, content_type in SERVED.values():
        httpserver.expect_request(path).respond_with_data(
            fixture_bytes(*fixture), content_type=content_type
        )
    base = httpserver.url_for("").rstrip("/")
    write_config(
        f"""\
        settings: {{max_pages: 1, retries: 0, timeout: 10}}
        brands:
          - name: Acme
            keywords: [Acme, "Acme Corp"]
        sources:
          - {{name: hn, type: hackernews, base_url: "{base}/hn"}}
          - {{name: reddit, type: reddit, base_url: "{base}/reddit"}}
          - {{name: masto, type: mastodon, base_url: "{base}/masto", tags: [acme]}}
          - {{name: bsky, type: bluesky, base_url: "{base}/bsky"}}
          - {{name: gnews, type: googlenews, base_url: "{base}/gnews"}}
          - {{name: bing, type: bingnews, base_url: "{base}/bing"}}
          - {{name: yt, type: youtube, base_url: "{base}/yt", channel_id: UCacmeOfficial000000000a}}
          - {{name: se, type: stackexchange, base_url: "{base}/se"}}
          - {{name: gh, type: github, base_url: "{base}/gh", kinds: issue}}
          - {{name: lemmy, type: lemmy, base_url: "{base}/lemmy"}}
          - {{name: forum, type: discourse, base_url: "{base}/forum"}}
          - {{name: page, type: web, url: "{base}/page.html"}}
          - {{name: feed, type: rss, url: "{base}/feed.xml"}}
        """
    )
    result = CliRunner().invoke(app, ["scan", "--db", "m.db", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]

    db = store.open_db("m.db")
    health = store.source_health(db)
    names = ["hn", "reddit", "masto", "bsky", "gnews", "bing", "yt", "se", "gh"]
    names += ["lemmy", "forum", "page", "feed"]
    assert {name: row["last_status"] for name, row in health.items()} == dict.fromkeys(names, "ok")
    assert all(row["last_items"] > 0 for row in health.values())
    stored = store.query_mentions(db, store.MentionFilter())
    assert sorted(r["id"] for r in stored) == sorted(r["id"] for r in printed)
    # Every source type produced mentions, each with a public URL and a UTC time.
    assert {r["source_type"] for r in stored} == set(REGISTRY)
    for r in stored:
        assert r["url"].startswith(("http://", "https://"))
        assert r["published"] is None or r["published"].endswith("Z")
        assert r["matched"]

    # A second scan stores nothing twice.
    again = CliRunner().invoke(app, ["scan", "--db", "m.db", "--format", "jsonl"])
    assert again.exit_code == 0, again.output
    assert len(store.query_mentions(db, store.MentionFilter())) == len(stored)
