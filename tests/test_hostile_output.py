"""Untrusted text never escapes: every human-readable output, fed hostile posts.

Titles, texts and authors carry terminal escape sequences (CSI, OSC 8 hyperlinks,
OSC 52 clipboard writes), C1 controls, BEL, backspaces, bidi overrides, rich markup
and HTML with a script and a javascript: URL. They arrive two ways: through a real
scan of feeds on 127.0.0.1 (what the parsers let through), and written straight
into the store (what a careless adapter or an old database could hold), so the
output layer is tested on its own merits. Tables, show, inbox and text digests must
show them as inert text; the HTML digest escapes them and links only http(s); JSON
keeps the stored text exact.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport, SourceState, Span
from mentionwatch.store import db as store
from mentionwatch.timeutil import to_iso, utcnow

from .faultserver import run_cli

runner = CliRunner()

CSI = "\x1b[2J\x1b[6n"  # clear the screen, ask the terminal to answer (input injection)
OSC8 = "\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07"  # a disguised hyperlink
OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x1b\\"  # write "rm -rf ~" into the clipboard
C1 = "\x9b31m\x9d0;title\x9c\x85"  # 8-bit CSI and OSC, ST, NEL
BEL_BS = "\x07\x07abc\x08\x08\x08xyz"
BIDI = "\u202eexe.txt\u202c \u2066iso\u2069"
MARKUP = "[bold red]ALARM[/] [link=https://evil.example/]pay here[/link]"
HTML_SCRIPT = "<script>alert(1)</script><img src=x onerror=alert(2)>"
JS_URL = "javascript:alert(document.cookie)"
PAYLOAD = f"{CSI}{OSC8}{OSC52}{C1}{BEL_BS}{BIDI}"

# What must never reach a person's screen or an HTML page: C0 controls but tab and
# newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_inert(output: str, *, where: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in FORBIDDEN.findall(output)})
    assert not found, f"{where}: control characters reached the output: {found}\n{output!r}"
    assert "evil.example/\x07" not in output


# ------------------------------------------------------------------ the hostile database

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "hostile",
        "items": [
            {
                "id": "j1",
                "url": "https://j.example/1",
                "title": f"Acme {MARKUP} {PAYLOAD}",
                "content_text": f"Acme is awful {HTML_SCRIPT} {PAYLOAD}",
                "authors": [{"name": f"[red]mallory[/] {CSI}{BIDI}"}],
                "date_published": "{published}",
            },
            {
                "id": "j2",
                "url": JS_URL,
                "external_url": JS_URL,
                "title": "Acme with a javascript link",
                "content_html": f"<p>Acme</p>{HTML_SCRIPT}<a href='{JS_URL}'>x</a>",
                "date_published": "{published}",
            },
        ],
    }
)
RSS_FEED = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>r</title>"
    "<item><guid>r1</guid><link>https://r.example/1</link>"
    f"<title>Acme {html.escape(MARKUP)} &lt;b&gt;bold&lt;/b&gt;</title>"
    f"<description>{html.escape(HTML_SCRIPT)} Acme awful &#x202E;reversed</description>"
    "<author>x@r.example ([bold]eve[/bold])</author>"
    "<pubDate>{published}</pubDate></item></channel></rss>"
)

# Written straight into the store: no parser in between to tidy anything.
RAW_ITEMS = [
    RawItem(
        external_id="raw1",
        url='https://raw.example/1?q="><script>alert(3)</script>',
        title=f"Acme {MARKUP} {PAYLOAD}",
        text=f"Acme terrible {HTML_SCRIPT}\n{PAYLOAD}\r\nline two\x1b[1Aover",
        author=f"{OSC52}[blink]bob[/blink]{C1}",
    ),
    RawItem(
        external_id="raw2",
        url=JS_URL,
        title=f"Acme {HTML_SCRIPT} horrible",
        text=f"Acme {JS_URL} {BIDI}",
        author="<b>carol</b>",
    ),
]


def _config(feeds: str, extra: str = "") -> str:
    return (
        "database: m.db\n"
        "settings: {retries: 0, timeout: 5}\n"
        "brands:\n  - {name: Acme, keywords: [Acme]}\n"
        f"sources:\n{feeds}"
        "alerts:\n  rules:\n"
        "    - {name: urgent, type: urgent, terms: [ALARM, terrible], within: 30d}\n"
        f"{extra}"
    )


@pytest.fixture
def hostile(
    httpserver: HTTPServer, write_config: Callable[[str], Path], tmp_path: Path
) -> dict[str, Any]:
    now = utcnow()
    published = now - timedelta(hours=1)
    httpserver.expect_request("/j.json").respond_with_data(
        JSON_FEED.replace("{published}", to_iso(published) or ""),
        content_type="application/feed+json",
    )
    httpserver.expect_request("/r.xml").respond_with_data(
        RSS_FEED.replace("{published}", published.strftime("%a, %d %b %Y %H:%M:%S +0000")),
        content_type="application/rss+xml",
    )
    config = write_config(
        _config(
            f'  - {{name: json, url: "{httpserver.url_for("/j.json")}"}}\n'
            f'  - {{name: rss, url: "{httpserver.url_for("/r.xml")}"}}\n'
            "  - {name: raw, type: rss, url: 'https://raw.example/feed'}\n"
        )
    )
    scanned = runner.invoke(
        app, ["scan", "-s", "json", "-s", "rss", "-c", str(config)], env={"COLUMNS": "300"}
    )
    assert scanned.exit_code == 0, scanned.output
    db = store.open_db(tmp_path / "m.db")
    try:
        mentions = []
        for item in RAW_ITEMS:
            mentions.append(
                store.NewMention(
                    post_id=store.post_key("raw", item),
                    item=RawItem(
                        external_id=item.external_id,
                        url=item.url,
                        title=item.title,
                        text=item.text,
                        author=item.author,
                        published=published,
                    ),
                    match=Match("Acme", ("Acme",), (Span(0, 4, "Acme"),)),
                    sentiment=Sentiment(-0.8, "negative", "vader"),
                )
            )
        store.save_source_run(
            db,
            source="raw",
            source_type="rss",
            mentions=mentions,
            state=SourceState(),
            report=SourceReport("raw", "rss", "ok", items=2),
            fetched=now,
        )
        # An error message that quotes the server (as some APIs' explanations do).
        db.execute(
            "UPDATE sources SET last_error = ?, last_status = 'error' WHERE name = 'rss'",
            [f"HTTP 403 forbidden: {MARKUP} {PAYLOAD}"],
        )
    finally:
        db.close()
    raw = sqlite3.connect(tmp_path / "m.db")
    raw.row_factory = sqlite3.Row
    posts = {
        r["id"]: dict(r)
        for r in raw.execute(
            "SELECT m.id, p.title, p.text, p.author, p.url, p.source"
            " FROM mentions m JOIN posts p ON p.id = m.post_id"
        )
    }
    raw.close()
    assert len(posts) == 5
    return {"config": config, "posts": posts, "scan_stdout": scanned.stdout}


def _run(args: list[str]) -> str:
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, f"{args}: {result.output}"
    assert_inert(result.stderr, where=f"{args} stderr")
    return result.stdout


# ------------------------------------------------------------------ what people read


def test_scan_output_is_inert(hostile: dict[str, Any]) -> None:
    assert_inert(hostile["scan_stdout"], where="scan")
    assert "[bold red]ALARM[/]" in hostile["scan_stdout"]


def test_mentions_table_is_inert(hostile: dict[str, Any]) -> None:
    out = _run(["mentions", "-c", str(hostile["config"])])
    assert_inert(out, where="mentions")
    assert "[bold red]ALARM[/]" in out  # markup shown literally, not interpreted
    assert "[link=https://evil.example/]" in out
    assert "<script>" in out or "alert(" in out  # the raw posts' HTML stays visible text


def test_show_is_inert_for_every_mention(hostile: dict[str, Any]) -> None:
    for mention_id in hostile["posts"]:
        out = _run(["show", mention_id, "-c", str(hostile["config"])])
        assert_inert(out, where=f"show {mention_id}")
    raw_ids = [m for m, p in hostile["posts"].items() if p["source"] == "raw"]
    out = _run(["show", raw_ids[0], "-c", str(hostile["config"])])
    assert "[bold red]ALARM[/]" in out
    assert "[blink]bob[/blink]" in out


def test_sources_table_is_inert(hostile: dict[str, Any]) -> None:
    out = _run(["sources", "-c", str(hostile["config"])])
    assert_inert(out, where="sources")
    assert "[bold red]ALARM[/]" in out


def test_text_and_markdown_digests_are_inert(hostile: dict[str, Any]) -> None:
    for fmt in ("text", "markdown"):
        out = _run(["digest", "--since", "7d", "--format", fmt, "-c", str(hostile["config"])])
        assert_inert(out, where=f"digest {fmt}")
        assert "ALARM" in out
    markdown = _run(["digest", "--since", "7d", "-f", "markdown", "-c", str(hostile["config"])])
    # No link or image can be smuggled in: brackets are escaped, targets are http(s).
    assert "[bold red]" not in markdown
    assert "\\[bold red\\]" in markdown
    assert "](javascript" not in markdown.lower()
    assert "](<javascript" not in markdown.lower()
    for target in re.findall(r"\]\(<([^>]*)>\)", markdown):
        assert target.startswith(("http://", "https://")), target


def test_html_digest_escapes_and_links_only_http(hostile: dict[str, Any]) -> None:
    page = _run(["digest", "--since", "7d", "--format", "html", "-c", str(hostile["config"])])
    assert_inert(page, where="digest html")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;" in page
    assert "javascript:alert(document.cookie)" in page  # shown as text, never as a link
    hrefs = re.findall(r"""href\s*=\s*["']?([^"' >]*)""", page, flags=re.I)
    assert hrefs, "expected links to the http(s) posts"
    for href in hrefs:
        assert href.startswith(("http://", "https://")), href
    # The attribute of an http link with quotes in it cannot break out of href="...".
    assert '"><script>' not in page
    for tag in re.findall(r"<[a-z][^>]*>", page):
        assert not re.search(r"\son\w+\s*=", tag), tag  # no event handler attributes


def test_alerts_table_is_inert(hostile: dict[str, Any]) -> None:
    out = _run(["alerts", "--no-deliver", "-c", str(hostile["config"])])
    assert_inert(out, where="alerts")
    assert "ALARM" in out or "terrible" in out


def test_inbox_is_inert(hostile: dict[str, Any]) -> None:
    out = _run(["inbox", "-c", str(hostile["config"])])
    assert_inert(out, where="inbox")
    assert "[bold red]ALARM[/]" in out


def test_test_query_is_inert(hostile: dict[str, Any]) -> None:
    out = _run(["test-query", "--query", "Acme", "-c", str(hostile["config"])])
    assert_inert(out, where="test-query")


def test_history_notes_are_inert(hostile: dict[str, Any]) -> None:
    mention_id = next(iter(hostile["posts"]))
    noted = runner.invoke(
        app, ["note", mention_id, f"pasted: {MARKUP} {PAYLOAD}", "-c", str(hostile["config"])]
    )
    assert noted.exit_code == 0, noted.output
    assert_inert(noted.stdout + noted.stderr, where="note")
    out = _run(["show", mention_id, "-c", str(hostile["config"])])
    assert_inert(out, where="show with history")
    assert "pasted: [bold red]ALARM[/]" in out


def test_check_is_inert(write_config: Callable[[str], Path]) -> None:
    # The config is the user's own, but it is often pasted from elsewhere.
    config = write_config(
        'brands:\n  - {name: "Acme\\e[2J", keywords: ["Acme\\e]52;c;eA==\\a", "[bold]x[/]"]}\n'
        'sources:\n  - {name: "feed\\u202e", url: "https://a.example/f"}\n'
    )
    result = runner.invoke(app, ["check", "-c", str(config)], env={"COLUMNS": "300"})
    assert result.exit_code in (0, 2), result.output
    assert_inert(result.stdout + result.stderr, where="check")
    if result.exit_code == 0:
        assert "[bold]x[/]" in result.stdout


# ------------------------------------------------------------------ on a real terminal

# What rich itself writes on a terminal: colours and styles, cursor hide/show and
# line erasing for the progress bar. Anything else would have come from the data.
_OUR_CODES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[\d*[AG]|\r")


def test_terminal_output_is_inert(hostile: dict[str, Any]) -> None:
    config = str(hostile["config"])
    raw_id = next(m for m, p in hostile["posts"].items() if p["source"] == "raw")
    for args in (
        ["scan", "-c", config],
        ["mentions", "-c", config],
        ["show", raw_id, "-c", config],
        ["digest", "--since", "7d", "-c", config],
        ["inbox", "-c", config],
        ["sources", "-c", config],
    ):
        done = run_cli(args, tty=True, tty_stdout=True)
        assert done.code in (0, 1), done.stderr
        assert "\x1b[" in done.stderr, "expected a styled terminal"
        screen = _OUR_CODES.sub("", done.stderr)
        assert_inert(screen, where=f"{args[0]} on a terminal")
        if args[0] in ("mentions", "show", "inbox"):
            assert "[bold red]ALARM[/]" in screen, screen


# ------------------------------------------------------------------ what programs read


def test_json_keeps_the_stored_text_exact(hostile: dict[str, Any]) -> None:
    rows = json.loads(_run(["mentions", "-f", "json", "-c", str(hostile["config"])]))
    assert {r["id"] for r in rows} == set(hostile["posts"])
    for r in rows:
        stored = hostile["posts"][r["id"]]
        assert (r["title"], r["text"], r["author"], r["url"]) == (
            stored["title"],
            stored["text"],
            stored["author"],
            stored["url"],
        )
    for mention_id, stored in hostile["posts"].items():
        shown = json.loads(_run(["show", mention_id, "-f", "json", "-c", str(hostile["config"])]))
        assert shown["title"] == stored["title"]
        assert shown["text"] == stored["text"]
    raw = [p for p in hostile["posts"].values() if p["source"] == "raw"]
    assert any(PAYLOAD in p["title"] for p in raw)  # the exact hostile bytes, kept


def test_what_the_parsers_let_through(hostile: dict[str, Any]) -> None:
    """Fed through real feeds, control characters never even reach the store (bidi
    marks do: they are text, made visible only on output), and a javascript: URL is
    dropped; markup and HTML-looking text stay as plain text."""
    parsed = [p for p in hostile["posts"].values() if p["source"] in ("json", "rss")]
    assert len(parsed) == 3
    for p in parsed:
        stored = p["title"] + p["text"] + p["author"]
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", stored), stored
        assert not p["url"].lower().startswith("javascript")
    titles = {p["title"] for p in parsed}
    assert any("[bold red]ALARM[/]" in t for t in titles)
