"""Defects found by running the feed parser and adapters on real feeds and recorded
API payloads (issue 13): each one pinned by a few lines of XML or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.config.alerts import AlertsConfig, NegativeRule, SpikeRule
from mentionwatch.errors import SourceError
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport, SourceState, Span
from mentionwatch.report.alerts import run_alerts
from mentionwatch.sources.bluesky import post_to_item
from mentionwatch.sources.common import parse_time
from mentionwatch.sources.feeds import _parse_fast, _parse_feedparser, _Unsure, parse_feed
from mentionwatch.sources.hackernews import hit_to_item
from mentionwatch.store import db as store
from mentionwatch.timeutil import from_iso, parse_rfc822, utcnow

from .conftest import fetch_with, fixture_bytes

URL = "https://blog.example.com/feed.xml"
runner = CliRunner()


def rss_item(inner: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
        f"<item><title>Acme</title><link>https://blog.example.com/a</link>{inner}</item>"
        "</channel></rss>"
    ).encode()


# ------------------------------------------------------------------ 1: zones


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("Tue, 10 Jun 2003 04:00:00 +02:00", datetime(2003, 6, 10, 2, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 -01:30", datetime(2003, 6, 10, 5, 30, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 GMT-01:01", datetime(2003, 6, 10, 5, 1, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 ET", datetime(2003, 6, 10, 9, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 CT", datetime(2003, 6, 10, 10, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 MT", datetime(2003, 6, 10, 11, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 PT", datetime(2003, 6, 10, 12, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 AT", datetime(2003, 6, 10, 8, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 MET", datetime(2003, 6, 10, 3, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 MEST", datetime(2003, 6, 10, 2, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 GMT", datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 -0500", datetime(2003, 6, 10, 9, 0, tzinfo=UTC)),
    ],
)
def test_zones_are_read_right_on_every_path(written: str, utc: datetime) -> None:
    assert parse_rfc822(written) == utc
    assert parse_time(written) == utc
    body = rss_item(f"<pubDate>{written}</pubDate>")
    feed = parse_feed(body, url=URL)
    assert feed.items[0].published == utc
    assert _parse_feedparser(body, url=URL, content_type=None).items[0].published == utc


def test_an_unknown_zone_is_never_taken_as_utc() -> None:
    written = "Tue, 10 Jun 2003 04:00:00 XYZT"
    assert parse_rfc822(written) is None
    assert parse_time(written) is None
    # The fast path does not guess: the entry goes to feedparser.
    with pytest.raises(_Unsure):
        _parse_fast(rss_item(f"<pubDate>{written}</pubDate>"), url=URL, content_type=None)


def test_an_impossible_date_is_missing_not_rolled_over() -> None:
    feed = parse_feed(rss_item("<pubDate>2026-13-45T99:99:99Z</pubDate>"), url=URL)
    assert feed.items[0].published is None
    assert parse_time("2026-13-45T99:99:99Z") is None


# ------------------------------------------------------------------ 2: space before <?xml


def test_white_space_before_the_prolog_keeps_the_google_news_extras(
    httpserver: HTTPServer,
) -> None:
    body = b"\n  " + fixture_bytes("googlenews", "search.xml")
    httpserver.expect_request("/rss/search").respond_with_data(
        body, content_type="application/rss+xml"
    )
    result = fetch_with(
        "googlenews", keywords=("Acme Corp",), when="1d", base_url=httpserver.url_for("/")
    )
    first = result.items[0]
    assert first.author == "Example Times"
    assert first.title == "Acme Corp recalls Widget 2 chargers over overheating reports"


# ------------------------------------------------------------------ 3, 4, 6: links and roots

ATOM = '<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>{}</feed>'


def test_a_text_link_with_rel_enclosure_is_not_the_post_url() -> None:
    body = ATOM.format(
        "<entry><title>Acme</title><id>urn:x:1</id>"
        '<link rel="enclosure">https://cdn.example.com/a.mp3</link>'
        '<link rel="alternate" href="https://blog.example.com/post"/></entry>'
    ).encode()
    assert parse_feed(body, url=URL).items[0].url == "https://blog.example.com/post"


def test_an_upper_case_scheme_in_the_id_is_a_link() -> None:
    body = ATOM.format("<entry><title>Acme</title><id>HTTP://blog.example.com/p</id></entry>")
    item = parse_feed(body.encode(), url=URL).items[0]
    assert item.url == "http://blog.example.com/p"


def test_an_atom_feed_inside_an_xhtml_page_is_recovered() -> None:
    body = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Page</title></head><body>'
        + ATOM.format(
            '<entry><title>Acme news</title><link href="https://blog.example.com/e1"/>'
            "<id>https://blog.example.com/e1</id></entry>"
        )
        + "</body></html>"
    ).encode()
    items = parse_feed(body, url=URL).items
    assert [(i.title, i.url) for i in items] == [("Acme news", "https://blog.example.com/e1")]
    # A plain HTML page is still refused.
    with pytest.raises(SourceError, match="got an HTML page"):
        parse_feed(b"<html><body><p>feed</p></body></html>", url=URL)


def test_content_type_text_keeps_its_literal_tags() -> None:
    body = ATOM.format(
        "<entry><title>Acme</title><id>https://blog.example.com/p</id>"
        '<content type="text">a &lt;b&gt;literal&lt;/b&gt; tag</content></entry>'
    ).encode()
    assert parse_feed(body, url=URL).items[0].text == "a <b>literal</b> tag"
    fallback = _parse_feedparser(body, url=URL, content_type=None)
    assert fallback.items[0].text == "a <b>literal</b> tag"


# ------------------------------------------------------------------ 8, 10: API payloads


def test_hacker_news_titles_are_plain_text() -> None:
    item = hit_to_item(
        {
            "objectID": "1",
            "title": "The <dialog> element & Acme",
            "story_text": "<p>Uses <b>Acme</b> &amp; more</p>",
            "created_at_i": 1_700_000_000,
        }
    )
    assert item is not None
    assert item.title == "The <dialog> element & Acme"
    assert item.text == "Uses Acme & more"


def test_bluesky_handle_invalid_is_replaced_by_the_did() -> None:
    item = post_to_item(
        {
            "uri": "at://did:plc:abc/app.bsky.feed.post/3xyz",
            "author": {"did": "did:plc:abc", "handle": "handle.invalid"},
            "record": {"text": "Acme", "createdAt": "2026-01-01T00:00:00Z"},
        }
    )
    assert item is not None
    assert item.author == "did:plc:abc"
    assert item.url == "https://bsky.app/profile/did:plc:abc/post/3xyz"


# ------------------------------------------------------------------ 12, 13, 17: dates, links


FUTURE_FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>
<item><title>Acme from the future</title><link>https://blog.example.com/future</link>
<pubDate>Tue, 10 Jun 2035 04:00:00 GMT</pubDate></item>
<item><title>Acme impossible</title><link>https://blog.example.com/impossible</link>
<pubDate>2026-13-45T99:99:99Z</pubDate></item>
<item><title>Acme undated</title><link>https://blog.example.com/undated?utm_campaign=x#comments</link>
</item>
</channel></rss>"""


def test_future_dates_are_clamped_undated_marked_links_cleaned(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FUTURE_FEED, content_type="application/rss+xml"
    )
    write_config(
        "brands:\n  - name: Acme\n    keywords: [Acme]\n"
        f'sources:\n  - {{name: blog, url: "{httpserver.url_for("/feed.xml")}"}}\n'
    )
    before = utcnow()
    result = runner.invoke(app, ["scan", "--db", "m.db", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    db = store.open_db("m.db")
    try:
        posts = {
            r["title"]: r
            for r in db.query("SELECT title, url, published, published_claimed, undated FROM posts")
        }
    finally:
        db.close()
    future = posts["Acme from the future"]
    clamped = from_iso(future["published"])
    assert clamped is not None
    assert before <= clamped <= utcnow()
    assert future["published_claimed"] == "2035-06-10T04:00:00Z"
    assert future["undated"] == 0
    # An unreadable date is no date, not 2027-01-01.
    assert posts["Acme impossible"]["published"] is None
    assert posts["Acme impossible"]["undated"] == 1
    undated = posts["Acme undated"]
    assert (undated["published"], undated["undated"]) == (None, 1)
    assert undated["url"] == "https://blog.example.com/undated"
    # The table shows no date for an undated post rather than its fetch time.
    listing = runner.invoke(app, ["mentions", "--db", "m.db"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    line = next(x for x in listing.stdout.splitlines() if "Acme undated" in x)
    assert "—" in line


def _store_at(
    db: sqlite_utils.Database, fetched: datetime, n: int, *, dated: bool, negative: bool = False
) -> None:
    items = [
        RawItem(
            external_id=f"{dated}-{fetched}-{i}",
            url=f"https://news.example/{int(dated)}/{fetched.timestamp()}/{i}",
            title=f"Acme post {i}",
            text="",
            published=fetched if dated else None,
        )
        for i in range(n)
    ]
    store.save_source_run(
        db,
        source="news",
        source_type="rss",
        mentions=[
            store.NewMention(
                store.post_key("news", item),
                item,
                Match("Acme", ("Acme",), ()),
                Sentiment(-0.8, "negative", "test") if negative else Sentiment(0.0, "neutral", "t"),
            )
            for item in items
        ],
        state=None,
        report=SourceReport(name="news", type="rss", status="ok"),
        fetched=fetched,
    )


@pytest.mark.parametrize("dated", [True, False])
def test_undated_posts_are_left_out_of_spike_windows(tmp_path: Path, dated: bool) -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    db = store.open_db(tmp_path / "m.db")
    try:
        for hour in range(1, 30):  # a quiet, dated baseline: one an hour
            _store_at(db, now - timedelta(hours=hour, minutes=30), 1, dated=True)
        # A first scan of a new source: 40 posts fetched in the last hour.
        _store_at(db, now - timedelta(minutes=10), 40, dated=dated, negative=True)
        rules = AlertsConfig(
            rules=(
                SpikeRule(name="spike", brand="Acme"),
                NegativeRule(name="surge", brand="Acme"),
            )
        )
        fired = {a.rule for a in run_alerts(rules, None, db, now=now, deliver=False).fired}
    finally:
        db.close()
    # The control: the same burst, dated, fires; undated, it fires nothing.
    assert fired == ({"spike", "surge"} if dated else set())


# ------------------------------------------------------------------ 15: usage errors


@pytest.fixture
def stored(tmp_path: Path) -> str:
    path = tmp_path / "m.db"
    db = store.open_db(path)
    try:
        _store_at(db, datetime(2026, 11, 20, tzinfo=UTC), 2, dated=True)
    finally:
        db.close()
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mentions", "--status", "bogus"], "--status: expected new, open, responded"),
        (["mentions", "--brand", "Nope"], "--brand: 'Nope' is not a configured brand; known: Acme"),
        (["inbox", "--brand", "Nope"], "--brand: 'Nope' is not a configured brand; known: Acme"),
        (["mentions", "--limit", "0"], "Invalid value for '--limit'"),
        (["mentions", "-f", "xml"], "'xml' is not one of 'table', 'json', 'jsonl', 'csv'"),
        (["mentions", "--bogus"], "No such option: --bogus"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(stored: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, [*args, "--db", stored])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_a_known_brand_in_any_case_is_accepted(stored: str) -> None:
    for command in ("mentions", "inbox"):
        result = runner.invoke(app, [command, "--brand", "acme", "--db", stored, "-f", "json"])
        assert result.exit_code == 0, result.output
        listed = json.loads(result.stdout)
        # The inbox looks back 14 days (inbox.horizon); these posts are older than that.
        assert len(listed) == (2 if command == "mentions" else 0)


# ------------------------------------------------------------------ 14: warnings reach someone


def test_warnings_are_recorded_shown_and_persistent_ones_reach_cron(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    httpserver.expect_request("/broken.xml").respond_with_data(
        fixture_bytes("feeds", "malformed.xml"), content_type="application/rss+xml"
    )
    httpserver.expect_request("/fine.xml").respond_with_data(
        rss_item(""), content_type="application/rss+xml"
    )
    write_config(
        "brands:\n  - name: Acme\n    keywords: [Acme]\nsources:\n"
        f'  - {{name: broken, url: "{httpserver.url_for("/broken.xml")}"}}\n'
        f'  - {{name: fine, url: "{httpserver.url_for("/fine.xml")}"}}\n'
    )
    first = runner.invoke(app, ["scan", "--db", "m.db", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "warning" not in first.stderr  # once may be a hiccup: cron stays quiet

    sources = runner.invoke(app, ["sources", "--db", "m.db", "-f", "json"])
    assert sources.exit_code == 0, sources.output
    health = {r["name"]: r for r in json.loads(sources.stdout)}
    assert health["broken"]["last_status"] == "warning"
    assert health["broken"]["last_warnings"] == [
        "malformed feed, kept what was readable: malformed XML: undefined entity at line 11"
    ]
    assert (health["fine"]["last_status"], health["fine"]["last_warnings"]) == ("ok", [])
    table = runner.invoke(app, ["sources", "--db", "m.db"], env={"COLUMNS": "200"})
    assert "warning" in table.stdout
    assert "malformed feed" in table.stdout

    # The same source warns again: persistent trouble, printed even with --quiet.
    second = runner.invoke(app, ["scan", "--db", "m.db", "--quiet"])
    assert second.exit_code == 0, second.output
    lines = [x for x in second.stderr.splitlines() if x.startswith("warning:")]
    assert lines == [
        "warning: source broken (also in the previous run): malformed feed, kept what was "
        "readable: malformed XML: undefined entity at line 11"
    ]

    # A period that surely holds both runs (the default one ends at the current minute).
    until = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = runner.invoke(
        app, ["digest", "--db", "m.db", "--format", "markdown", "--until", until]
    )
    assert digest.exit_code == 0, digest.output
    assert "**broken**: warned in 2 of 2 runs: malformed feed" in digest.stdout
    assert "**fine**" not in digest.stdout


# ------------------------------------------------------------------ 16: matches past the cap


def test_a_match_beyond_the_text_cap_can_be_shown_and_rematched(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    # 150,000 characters of filler, then the only mention: past store.MAX_TEXT_CHARS.
    body = "filler " * 21_500 + "Acme support never answered my ticket. " + "tail " * 100
    assert len(body) > store.MAX_TEXT_CHARS
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title><item>'
        "<title>A long post</title><link>https://blog.example.com/long</link>"
        f"<description>{body}</description></item></channel></rss>"
    ).encode()
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed, content_type="application/rss+xml"
    )
    write_config(
        "brands:\n  - name: Acme\n    keywords: [Acme]\n"
        f'sources:\n  - {{name: blog, url: "{httpserver.url_for("/feed.xml")}"}}\n'
    )
    scan = runner.invoke(app, ["scan", "--db", "m.db", "--format", "json"])
    assert scan.exit_code == 0, scan.output
    (record,) = json.loads(scan.stdout)
    assert len(record["text"]) <= store.MAX_TEXT_CHARS
    assert record["text"].startswith("filler filler")  # the head is kept
    assert "Acme support never answered my ticket." in record["text"]

    shown = runner.invoke(app, ["show", record["id"], "--db", "m.db", "-f", "json"])
    assert shown.exit_code == 0, shown.output
    (span,) = json.loads(shown.stdout)["spans"]
    combined = f"{record['title']}\n{record['text']}"
    assert combined[span["start"] : span["end"]] == "Acme"

    # Re-running the brand's rule over the stored post finds it: no false loss.
    again = runner.invoke(app, ["test-query", "Acme", "--db", "m.db", "-f", "json"])
    assert again.exit_code == 0, again.output
    counts = json.loads(again.stdout)["counts"]
    assert (counts["kept"], counts["lost"]) == (1, 0)


@pytest.mark.parametrize("limit", [200, 1_000, 3_000])
@pytest.mark.parametrize("every", [7, 150, 900])
def test_fit_text_keeps_every_span_it_can_pointing_at_its_term(limit: int, every: int) -> None:
    words = ["Acme" if i % every == every - 1 else "lorem" for i in range(2_000)]
    item = RawItem("x", "", "Acme title", " ".join(words))
    spans = []
    at = len(item.title) + 1
    for word in words:
        if word == "Acme":
            spans.append(Span(at, at + 4, "Acme"))
        at += len(word) + 1
    match = Match("Acme", ("Acme",), (Span(0, 4, "Acme"), *spans))
    fitted, (moved,) = store.fit_text(item, [match], limit)
    assert len(fitted.text) <= limit
    combined = f"{fitted.title}\n{fitted.text}"
    assert all(combined[s.start : s.end] == "Acme" for s in moved.spans)
    assert moved.spans[0] == Span(0, 4, "Acme")  # the title is never touched
    if every == 900 and limit == 3_000:  # two matches far apart, room for both windows
        assert len(moved.spans) == 3


# ------------------------------------------------------------------ 5: nested titles


@pytest.mark.parametrize(
    "inner",
    [
        "<category>News<image><url>https://cdn.example.com/a.jpg</url>"
        "<title>Image title</title></image></category>",
        '<enclosure url="https://cdn.example.com/a.mp3" type="audio/mpeg">'
        "<media:title>Enclosure title</media:title></enclosure>",
    ],
)
def test_a_nested_title_is_never_the_entry_title_on_either_path(inner: str) -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>Blog</title><item>{inner}<link>https://blog.example.com/a</link>"
        "<description>Acme text</description></item></channel></rss>"
    ).encode()
    fast = _parse_fast(body, url=URL, content_type=None).items
    slow = _parse_feedparser(body, url=URL, content_type=None).items
    assert fast == slow
    assert (fast[0].title, fast[0].text) == ("", "Acme text")


def _undated_store(tmp_path: Path) -> tuple[Path, datetime]:
    db_path = tmp_path / "u.db"
    db = store.open_db(db_path)
    now = utcnow() - timedelta(minutes=10)  # inside a period that ends now
    item = RawItem("u1", "https://example.com/u", "Acme broke", "Acme broke again")
    match = Match("Acme", ("Acme",), (Span(0, 4, "Acme"),))
    store.save_source_run(
        db,
        source="feed",
        source_type="rss",
        mentions=[
            store.NewMention(
                store.post_key("feed", item), item, match, Sentiment(-0.5, "negative", "vader")
            )
        ],
        state=SourceState(),
        report=SourceReport("feed", "rss", "ok"),
        fetched=now,
    )
    db.close()
    return db_path, now


def test_the_inbox_shows_no_date_for_an_undated_post(tmp_path: Path) -> None:
    db_path, now = _undated_store(tmp_path)
    listed = runner.invoke(app, ["inbox", "--db", str(db_path), "-f", "json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert row["undated"] is True
    table = runner.invoke(app, ["inbox", "--db", str(db_path)], env={"COLUMNS": "100"})
    assert "—" in table.stdout
    assert now.strftime("%m-%d %H:%M") not in table.stdout


def test_the_digest_says_an_undated_post_was_fetched_not_published(tmp_path: Path) -> None:
    db_path, now = _undated_store(tmp_path)
    config = tmp_path / "mentionwatch.yaml"
    config.write_text(
        f"database: {db_path}\nbrands: [{{name: Acme, keywords: [Acme]}}]\n"
        "sources: [{name: feed, url: 'http://127.0.0.1:9/feed'}]\n",
        encoding="utf-8",
    )
    digest = runner.invoke(app, ["-c", str(config), "digest", "--since", "1d"])
    assert digest.exit_code == 0, digest.output
    assert f"undated (fetched {now.strftime('%Y-%m-%d %H:%M')})" in digest.stdout
