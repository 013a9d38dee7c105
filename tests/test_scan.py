"""The whole scan against feeds served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from mentionwatch import pipeline
from mentionwatch.cli import app
from mentionwatch.configure import load_config
from mentionwatch.store import db as store
from mentionwatch.urls import canonical_url

from .conftest import rss

runner = CliRunner()

FEED_A = rss(
    ("a1", "https://news.example/acme-launch?utm_source=rss", "Acme launches Widget|We love it."),
    ("a2", "https://news.example/globex", "Globex outage|Globex was down all day, awful."),
    ("a3", "https://news.example/acmeville", "Acmeville fair|Acme pies in Acmeville."),
    ("a4", "https://news.example/weather", "Weather|Rain. See https://acme.example.com/x"),
)
# The same Acme post reached through another source, with other tracking junk.
FEED_B = rss(
    ("b1", "https://NEWS.example/acme-launch?fbclid=123#top", "Repost: Acme launches Widget|ok"),
    ("b2", "https://blog.example/both", "Compared|Acme is great. Globex is terrible."),
)
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "j1",
                "url": "https://j.example/1",
                "title": "Acme Corp support",
                "content_text": "Acme Corp support was horrible and rude.",
                "date_published": "2026-11-20T10:00:00Z",
            }
        ],
    }
).encode()

CONFIG = """\
brands:
  - name: Acme
    keywords: [Acme, Acme Corp]
    exclude: [Acmeville]
  - name: Globex
    keywords: [Globex]
sources:
  - {{name: a, url: "{base}/a.xml"}}
  - {{name: b, url: "{base}/b.xml"}}
  - {{name: j, url: "{base}/j.json"}}
"""


def _serve_with_etag(httpserver: HTTPServer, path: str, body: bytes, etag: str) -> list[str]:
    """Serve body with an ETag; answer 304 to a matching If-None-Match. Logs the header."""
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("If-None-Match", ""))
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304)
        return Response(body, headers={"ETag": etag, "Content-Type": "application/xml"})

    httpserver.expect_request(path).respond_with_handler(handler)
    return seen


@pytest.fixture
def setup(httpserver: HTTPServer, write_config: Callable[[str], Path]) -> dict[str, list[str]]:
    seen = {
        "a": _serve_with_etag(httpserver, "/a.xml", FEED_A, '"va"'),
        "b": _serve_with_etag(httpserver, "/b.xml", FEED_B, '"vb"'),
    }
    httpserver.expect_request("/j.json").respond_with_data(
        JSON_FEED, content_type="application/feed+json"
    )
    write_config(CONFIG.format(base=httpserver.url_for("").rstrip("/")))
    return seen


def _rows(db_path: str) -> list[dict[str, object]]:
    db = store.open_db(db_path)
    try:
        return store.query_mentions(db, store.MentionFilter())
    finally:
        db.close()


def test_scan_stores_each_mention_once(setup: dict[str, list[str]], tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", "--db", "m.db", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    rows = _rows("m.db")
    assert sorted(r["id"] for r in printed) == sorted(r["id"] for r in rows)
    pairs = sorted((r["brand"], canonical_url(str(r["url"]))) for r in rows)
    assert pairs == [
        ("Acme", "https://blog.example/both"),
        ("Acme", "https://j.example/1"),
        # once, although source b linked it with other tracking parameters and host case
        ("Acme", "https://news.example/acme-launch"),
        ("Globex", "https://blog.example/both"),
        ("Globex", "https://news.example/globex"),
    ]
    # the excluded Acmeville post and the URL-only "mention" are not there
    assert not [r for r in rows if "acmeville" in str(r["url"]) or "weather" in str(r["url"])]
    # one post praising Acme and attacking Globex gets two scores
    both = {r["brand"]: r for r in rows if r["url"] == "https://blog.example/both"}
    assert both["Acme"]["sentiment_label"] == "positive"
    assert both["Globex"]["sentiment_label"] == "negative"
    record = next(r for r in rows if r["url"] == "https://j.example/1")
    assert sorted(record["matched"]) == ["Acme", "Acme Corp"]
    assert record["published"] == "2026-11-20T10:00:00Z"
    assert record["source_type"] == "rss"
    assert record["status"] == "new"
    assert record["sentiment_label"] == "negative"


def test_rescan_uses_conditional_get_and_stores_nothing_twice(
    setup: dict[str, list[str]],
) -> None:
    first = runner.invoke(app, ["scan", "--db", "m.db", "--format", "jsonl"])
    assert first.exit_code == 0, first.output
    count = len(_rows("m.db"))
    second = runner.invoke(app, ["scan", "--db", "m.db", "--format", "jsonl"])
    assert second.exit_code == 0, second.output
    assert second.stdout == ""  # nothing new
    assert len(_rows("m.db")) == count
    # the second request of each feed carried the stored ETag and got a 304
    assert setup["a"] == ["", '"va"']
    assert setup["b"] == ["", '"vb"']
    db = store.open_db("m.db")
    health = store.source_health(db)
    assert health["a"]["last_status"] == "not-modified"
    assert health["a"]["etag"] == '"va"'
    assert health["j"]["last_status"] == "ok"  # no ETag: re-parsed, nothing stored twice


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_failing_sources_do_not_stop_the_others(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    httpserver.expect_request("/good.xml").respond_with_data(
        FEED_A, content_type="application/rss+xml"
    )
    httpserver.expect_request("/500.xml").respond_with_data("boom", status=500)
    httpserver.expect_request("/404.xml").respond_with_data("nope", status=404)
    httpserver.expect_request("/html.xml").respond_with_data(
        "<!doctype html><html><body><h1>Blocked</h1></body></html>", content_type="text/html"
    )
    base = httpserver.url_for("").rstrip("/")
    write_config(
        f"""\
        keywords: [Acme]
        settings: {{retries: 0, timeout: 5}}
        sources:
          - {{name: good, url: "{base}/good.xml"}}
          - {{name: five-hundred, url: "{base}/500.xml"}}
          - {{name: missing, url: "{base}/404.xml"}}
          - {{name: html, url: "{base}/html.xml"}}
          - {{name: refused, url: "http://127.0.0.1:{_closed_port()}/feed.xml"}}
        """
    )
    result = runner.invoke(app, ["scan", "--db", "m.db", "--format", "json"])
    assert result.exit_code == 1
    stored = json.loads(result.stdout)
    assert {r["source"] for r in stored} == {"good"}
    assert len(stored) == 2  # a1, and a3 (no exclude here)
    for name, words in [
        ("five-hundred", "HTTP 500"),
        ("missing", "HTTP 404"),
        ("html", "not a feed"),
        ("refused", "cannot connect"),
    ]:
        line = next(line for line in result.stderr.splitlines() if f"source {name}:" in line)
        assert words in line
    db = store.open_db("m.db")
    health = store.source_health(db)
    assert health["good"]["last_status"] == "ok"
    assert "HTTP 500" in health["five-hundred"]["last_error"]
    assert "Traceback" not in result.stderr


def test_scan_only_named_source(setup: dict[str, list[str]], tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "mentionwatch.yaml")
    db = store.open_db(tmp_path / "m.db")
    report = pipeline.scan(cfg, db, only=["j"])
    assert [s.name for s in report.sources] == ["j"]
    assert report.sources[0].items == 1
    assert report.sources[0].new_mentions == 1
    assert setup["a"] == []  # never fetched
    bad = runner.invoke(app, ["scan", "--db", "m.db", "--source", "jj"])
    assert bad.exit_code == 2
    assert "did you mean 'j'" in bad.stderr


def test_scan_alerts_fires_and_delivers_once(
    httpserver: HTTPServer, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/a.xml").respond_with_data(FEED_A, content_type="application/xml")
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    monkeypatch.setenv("HOOK_URL", httpserver.url_for("/hook"))
    write_config(
        f"""\
        keywords: [Globex]
        sources: [{httpserver.url_for("/a.xml")}]
        alerts:
          deliver: {{webhook_url_env: HOOK_URL}}
          rules:
            - {{name: outage, type: urgent, terms: [outage], within: 3650d}}
        """
    )
    first = runner.invoke(app, ["scan", "--db", "m.db", "--alerts", "-q"])
    assert first.exit_code == 0, first.output
    posts = [entry for entry, _ in httpserver.log if entry.path == "/hook"]
    assert len(posts) == 1
    payload = json.loads(posts[0].get_data())
    assert "outage" in payload["text"]
    assert payload["count"] == 1
    second = runner.invoke(app, ["scan", "--db", "m.db", "--alerts", "-q"])
    assert second.exit_code == 0, second.output
    assert len([entry for entry, _ in httpserver.log if entry.path == "/hook"]) == 1
    missing = runner.invoke(app, ["scan", "--db", "m.db", "--alerts", "-c", "none.yaml"])
    assert missing.exit_code == 2


def test_a_source_named_twice_is_scanned_once(tmp_path: Path) -> None:
    path = tmp_path / "mentionwatch.yaml"
    path.write_text(
        "brands: [{name: Acme, keywords: [Acme]}]\n"
        "sources:\n"
        "  - {name: a, url: 'http://127.0.0.1:9/a'}\n"
        "  - {name: b, url: 'http://127.0.0.1:9/b'}\n"
    )
    cfg = load_config(path)
    chosen = pipeline.select_sources(cfg, ["a", "b", "a"])
    assert [s.name for s in chosen] == ["a", "b"]
