"""A first run as a new user makes it: `init --brand` → `check` → `scan` against local
stand-ins for the no-account sources; `check`'s report and warnings; brand roles and
exclusions from the scan through the inbox and the digest."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

import mentionwatch.cli.digest
import mentionwatch.cli.inbox  # noqa: F401
from mentionwatch.cli import app

from .conftest import fixture_bytes

runner = CliRunner()

# The starter config's sources, each served from a recorded response under its own root.
STAND_INS = {
    "hackernews": (
        "/hn",
        "/hn/api/v1/search_by_date",
        ("hackernews", "page0.json"),
        "application/json",
    ),
    "googlenews": ("/gnews", "/gnews/rss/search", ("googlenews", "search.xml"), "text/xml"),
    "bingnews": ("/bing", "/bing/news/search", ("bingnews", "search.xml"), "text/xml"),
    "reddit": ("/reddit", "/reddit/search.json", ("reddit", "search_page1.json"), "text/json"),
    "mastodon": (
        "/masto",
        "/masto/api/v1/timelines/tag/acme",
        ("mastodon", "page1.json"),
        "application/json",
    ),
}


def test_init_check_scan(httpserver: HTTPServer, tmp_path: Path) -> None:
    init = runner.invoke(app, ["init", "--brand", "Acme"])
    assert init.exit_code == 0, init.output
    config = tmp_path / "mentionwatch.yaml"
    text = config.read_text(encoding="utf-8")
    assert "example.com" not in text
    assert "example.org" not in text

    check = runner.invoke(app, ["check"])
    assert check.exit_code == 0, check.output
    assert "Acme  (role: own)" in check.stdout
    assert "sources (5):" in check.stdout
    assert "warning" not in check.stderr  # no keys needed, none named

    # The real roots, replaced by the local server (every adapter takes base_url).
    base = httpserver.url_for("").rstrip("/")
    for source_type, (root, path, fixture, content_type) in STAND_INS.items():
        httpserver.expect_request(path).respond_with_data(
            fixture_bytes(*fixture), content_type=content_type
        )
        text, n = re.subn(
            rf"type: {source_type}(, base_url: [^,}}]+)?",
            f'type: {source_type}, base_url: "{base}{root}"',
            text,
        )
        assert n == 1, source_type
    config.write_text(
        text.replace("settings:\n", "settings:\n  max_pages: 1\n  retries: 0\n"), "utf-8"
    )

    scan = runner.invoke(app, ["scan", "-f", "json"])
    assert scan.exit_code == 0, scan.output
    found = json.loads(scan.stdout)
    assert {m["source"] for m in found} == {"hn", "google-news", "bing-news", "reddit", "mastodon"}
    assert {m["brand"] for m in found} == {"Acme"}


def test_init_needs_a_brand_off_a_terminal(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert "--brand" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "mentionwatch.yaml").exists()


def test_init_full_writes_the_reference(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--full"])
    assert result.exit_code == 0, result.output
    reference = tmp_path / "sources.example.yaml"
    assert "every configuration key" in reference.read_text(encoding="utf-8")
    check = runner.invoke(app, ["-c", str(reference), "check"])
    assert check.exit_code == 0, check.output


CHECKED = """\
brands:
  - {name: Acme, keywords: [Acme]}
  - {name: Globex, keywords: [Globex], role: competitor}
email:
  host: 127.0.0.1
  from: mw@localhost
  to: [team@localhost]
  password_env: MW_SMTP_PASSWORD
alerts:
  deliver: {webhook_url_env: MW_HOOK}
  rules:
    - {name: acme-spike, type: spike, brand: Acme}
policy:
  - {name: legal, severity: high, terms: [lawsuit]}
inbox:
  respond_within: {negative: 4h}
sources:
  - {name: gh, type: github, token_env: MW_GITHUB_TOKEN}
"""


def test_check_reports_every_section_and_unset_variables(
    write_config: Callable[[str], Path], monkeypatch: object
) -> None:
    write_config(CHECKED)
    result = runner.invoke(app, ["check"], env={"MW_GITHUB_TOKEN": "x"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Globex  (role: competitor)" in out
    assert "email: 127.0.0.1:587" in out
    assert "alerts: 1 rule(s), delivered by webhook" in out
    assert "policy: 1 rule(s)" in out
    assert "inbox: respond within negative 4h" in out
    assert "warning: email.password_env: MW_SMTP_PASSWORD is not set" in result.stderr
    assert "warning: alerts.deliver.webhook_url_env: MW_HOOK is not set" in result.stderr
    assert "MW_GITHUB_TOKEN" not in result.stderr  # set: nothing to say
    everything = runner.invoke(
        app, ["check"], env={"MW_GITHUB_TOKEN": "x", "MW_HOOK": "h", "MW_SMTP_PASSWORD": "p"}
    )
    assert everything.exit_code == 0
    assert "warning" not in everything.stderr


def test_check_errors_are_exit_2(write_config: Callable[[str], Path]) -> None:
    write_config("brands:\n  - {name: Acme, keywords: [Acme], role: rival}\nsources: []\n")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert "role" in result.stderr
    assert "own, competitor, topic" in result.stderr


# ------------------------------------------------------------------ roles and exclusions

FEED = """<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>t</title><link>http://127.0.0.1/</link>{items}</channel></rss>"""
ITEM = (
    "<item><guid isPermaLink='false'>{guid}</guid><link>{link}</link><title>{title}</title>"
    "<description>{title}</description><dc:creator>{author}</dc:creator>"
    "<pubDate>{when}</pubDate></item>"
)
POSTS = [  # (guid, link, title, author)
    ("1", "https://forum.example/1", "Acme support is terrible and awful", "alice"),
    ("2", "https://blog.acme.example/post", "Acme is terrible at nothing, awful news", "acme"),
    ("3", "https://forum.example/3", "Globex support is terrible and awful", "bob"),
    ("4", "https://forum.example/4", "Acme refund is terrible and awful", "@AcmeHQ"),
    ("5", "https://forum.example/5", "Widgets are terrible and awful", "carol"),
]

ROLES = """\
database: m.db
exclude_authors: ["@acmehq"]
brands:
  - name: Acme
    keywords: [Acme]
    exclude_domains: [acme.example]
  - {{name: Globex, keywords: [Globex], role: competitor, respond_within: 1h}}
  - {{name: Widgets, keywords: [Widgets], role: topic}}
sources:
  - {{name: forum, url: "{url}"}}
"""


def test_roles_and_exclusions_through_scan_inbox_and_digest(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    from datetime import timedelta
    from email.utils import format_datetime

    from mentionwatch.timeutil import utcnow

    # Inside the default digest's period (the last 24 h, to a whole hour).
    when = format_datetime(utcnow() - timedelta(hours=2))
    items = "".join(
        ITEM.format(guid=g, link=link, title=t, author=a, when=when) for g, link, t, a in POSTS
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED.format(items=items), content_type="application/rss+xml"
    )
    write_config(ROLES.format(url=httpserver.url_for("/feed.xml")))
    scan = runner.invoke(app, ["scan", "-f", "json"])
    assert scan.exit_code == 0, scan.output
    stored = {(m["brand"], m["title"]) for m in json.loads(scan.stdout)}
    # The brand's own blog (domain) and its official account (global author) are not
    # mentions of it; the competitor and the topic are stored and counted.
    assert stored == {
        ("Acme", POSTS[0][2]),
        ("Globex", POSTS[2][2]),
        ("Widgets", POSTS[4][2]),
    }

    inbox = json.loads(runner.invoke(app, ["inbox", "-f", "json"]).stdout)
    assert [i["brand"] for i in inbox] == ["Acme"]  # not the competitor's nor the topic's

    digest = runner.invoke(app, ["digest", "-f", "json"])
    assert digest.exit_code == 0, digest.output
    data = json.loads(digest.stdout)
    assert {s["name"]: s["count"] for s in data["share_of_voice"]} == {
        "Acme": 1,
        "Globex": 1,
        "Widgets": 1,
    }
    assert {b["name"]: b["sentiment"]["negative"] for b in data["brands"]} == {
        "Acme": 1,
        "Globex": 1,
        "Widgets": 1,
    }
    assert [m["brand"] for m in data["needs_answer"]] == ["Acme"]
