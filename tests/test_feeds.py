"""Tests for mentionwatch.sources.feeds: feed bytes to RawItems, on every path."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
import time
import tracemalloc
from calendar import timegm
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem
from mentionwatch.sources.feeds import (
    ParsedFeed,
    _parse_date,
    _parse_fast,
    _parse_feedparser,
    _Unsure,
    parse_feed,
)

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sha1_id(title: str, text: str) -> str:
    return "sha1:" + hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


# Every well-formed fixture, with the URL it pretends to come from.
WELL_FORMED = [
    ("rss20.xml", "https://blog.example.com/feed.xml", "application/rss+xml"),
    ("rss091.xml", "http://oldschool.example.com/rss.xml", None),
    ("rss10.rdf", "https://planet.example.net/rss.rdf", "application/rdf+xml"),
    ("atom10.xml", "https://status.example.com/atom.xml", "application/atom+xml"),
    ("youtube.xml", "https://www.youtube.com/feeds/videos.xml?channel_id=x", "text/xml"),
    ("reddit.atom", "https://www.reddit.com/search.rss?q=acme", "application/atom+xml"),
    ("googlenews.xml", "https://news.google.com/rss/search?q=acme", "application/xml"),
    ("bing.xml", "https://www.bing.com/news/search?q=acme&format=rss", "text/xml; charset=utf-8"),
    ("discourse.xml", "https://forum.example.com/latest.rss", "application/rss+xml"),
    ("latin1.xml", "https://no.example.com/rss", "application/rss+xml"),
]


# ------------------------------------------------------------------ both XML paths


@pytest.mark.parametrize(("name", "url", "content_type"), WELL_FORMED)
def test_fast_path_and_feedparser_agree(name: str, url: str, content_type: str | None) -> None:
    body = fixture(name)
    fast = _parse_fast(body, url=url, content_type=content_type)
    slow = _parse_feedparser(body, url=url, content_type=content_type)
    assert fast.parser == "fast"
    assert slow.parser == "feedparser"
    assert slow.bozo is None
    assert fast == dataclasses.replace(slow, parser="fast")
    assert fast.items  # an empty result would agree trivially


@pytest.mark.parametrize(("name", "url", "content_type"), WELL_FORMED)
def test_well_formed_feeds_take_the_fast_path(
    name: str, url: str, content_type: str | None
) -> None:
    assert parse_feed(fixture(name), url=url, content_type=content_type).parser == "fast"


def test_rss20() -> None:
    feed = parse_feed(fixture("rss20.xml"), url="https://blog.example.com/feed.xml")
    assert (feed.kind, feed.title, feed.parser, feed.bozo) == (
        "rss20",
        "Acme Engineering & Friends",
        "fast",
        None,
    )
    assert feed.items == (
        RawItem(
            # guid isPermaLink="false": an id, never a URL
            external_id="blog.example.com-post-101",
            # relative link resolved against the feed URL, query kept
            url="https://blog.example.com/posts/acme-deal?utm_source=rss&id=7",
            # double-escaped entities and escaped markup in the title
            title="AT&T & Acme\u2019s new deal",
            # content:encoded beats description; script dropped; blocks are lines
            text="Acme signed a deal with AT&T.\nIt's big news\u2014really.\none\ntwo",
            author="Jane Roe",  # dc:creator
            published=utc(2025, 6, 10, 8, 0),  # 10:00 +0200
            lang="en",  # channel <language>en-US</language>
        ),
        RawItem(
            # a permalink guid and no <link>: the guid is the URL
            external_id="https://blog.example.com/p/102",
            url="https://blog.example.com/p/102",
            title="Widget 2 battery review",
            text="The battery of the Acme Widget 2 lasts two days.\nCharging is slow.",
            author="Jane Roe",  # from "jane@example.com (Jane Roe)"
            published=utc(2025, 6, 11, 8, 15),
            lang="en",
        ),
        RawItem(
            external_id="https://news.example.org/acme-fair",  # no guid: the link
            url="https://news.example.org/acme-fair",
            title="Acme at the trade fair",
            text="Photos from the booth.",
            author="press@example.org",  # only an address: kept as is
            published=None,
            lang="en",
        ),
        RawItem(
            external_id=sha1_id("Untitled note", "No link, no guid, no date."),
            url="",
            title="Untitled note",
            text="No link, no guid, no date.",
            lang="en",
        ),
    )


def test_rss091() -> None:
    feed = parse_feed(fixture("rss091.xml"), url="http://oldschool.example.com/rss.xml")
    assert (feed.kind, feed.title, feed.parser) == ("rss091u", "Old School Acme News", "fast")
    assert feed.items == (
        RawItem(
            external_id="http://oldschool.example.com/news/1.html",
            url="http://oldschool.example.com/news/1.html",
            title="Acme opens a store",
            text="The first Acme store opened today \u2014 queues everywhere.",
            lang="en",
        ),
        RawItem(
            external_id="http://oldschool.example.com/news/2.html",
            url="http://oldschool.example.com/news/2.html",
            title="Acme closes a store",
            text="It was fun while it lasted.",
            lang="en",
        ),
    )


def test_rss091_with_netscape_doctype_goes_to_feedparser() -> None:
    # The fast path refuses every DOCTYPE, even a harmless external one.
    body = fixture("rss091_netscape.xml")
    with pytest.raises(_Unsure):
        _parse_fast(body, url="http://netscape.example.com/rss", content_type=None)
    feed = parse_feed(body, url="http://netscape.example.com/rss")
    assert (feed.kind, feed.parser, feed.bozo) == ("rss091n", "feedparser", None)
    assert feed.items == (
        RawItem(
            external_id="http://netscape.example.com/modem.html",
            url="http://netscape.example.com/modem.html",
            title="Acme ships a modem",
            text="56k, finally.",
            lang="en",
        ),
    )


def test_rss10_rdf() -> None:
    feed = parse_feed(fixture("rss10.rdf"), url="https://planet.example.net/rss.rdf")
    assert (feed.kind, feed.title, feed.parser) == ("rss10", "Planet Acme", "fast")
    assert feed.items == (
        RawItem(
            external_id="https://planet.example.net/2025/06/acme-kaffee",  # rdf:about
            url="https://planet.example.net/2025/06/acme-kaffee",
            title="Acme Kaffeemaschine im Test",
            text="Die Maschine ist laut, aber der Kaffee ist gut.",
            author="Max Mustermann",
            published=utc(2025, 6, 9, 16, 30),  # dc:date 18:30+02:00
            lang="de",  # channel dc:language de-DE
        ),
        RawItem(
            external_id="urn:uuid:5f1d7a52-1111-4d0e-9c1a-acme00000002",
            url="https://planet.example.net/2025/06/acme-tee",
            title="Acme Tee & Geb\u00e4ck",
            text="Zweiter Eintrag mit mehr Text.",
            published=utc(2025, 6, 10),  # a bare date is midnight UTC
            lang="de",
        ),
    )


def test_atom10() -> None:
    feed = parse_feed(fixture("atom10.xml"), url="https://status.example.com/atom.xml")
    assert (feed.kind, feed.title, feed.parser) == ("atom10", "Acme Status & Updates", "fast")
    assert feed.items == (
        RawItem(
            external_id="tag:status.example.com,2025:incident-42",
            url="https://status.example.com/incidents/42",
            title="Outage: Acme Cloud in EU-West",  # type="html"
            text="What happened\nRequests to Acme Cloud failed.\nFixed at 07:30.",
            author="Priya Patel",
            published=utc(2025, 6, 12, 5, 45, 30),  # only <updated>; sub-seconds dropped
            lang="en",  # xml:lang="en-GB" on the feed
        ),
        RawItem(
            # no link: an http(s) Atom id is the URL
            external_id="https://status.example.com/maintenance/7",
            url="https://status.example.com/maintenance/7",
            # type="text" (the default) is literal: no tag stripping, no decoding
            title="Maintenance <window> on Sunday",
            text="Plain text summary with a literal <tag> and an &amp; entity-looking string.",
            author="Acme Status Team",  # inherited from the feed
            published=utc(2025, 6, 8, 20, 0),  # <published> beats <updated>
            lang="en",
        ),
        RawItem(
            external_id="tag:status.example.com,2025:fr-1",
            url="https://status.example.com/fr/1",  # link without rel; the PDF is skipped
            title="Acme en France",
            text="Bonjour & bienvenue",
            author="Jean Dupont",
            published=utc(2025, 6, 7, 10, 0),
            lang="fr",  # entry xml:lang
        ),
    )


def test_youtube_atom_with_media_rss() -> None:
    feed = parse_feed(fixture("youtube.xml"), url="https://www.youtube.com/feeds/videos.xml")
    assert (feed.kind, feed.title, feed.parser) == ("atom10", "Acme Official", "fast")
    assert feed.items == (
        RawItem(
            external_id="yt:video:AbCdEfGhIjK",
            url="https://www.youtube.com/watch?v=AbCdEfGhIjK",
            title="Widget 2 \u2014 first look",
            # media:description is plain text: its lines survive, "<3" is not a tag
            text="Hands-on with Widget 2.\nBattery, screen & the new Acme app.\n\nLinks below <3",
            author="Acme Official",
            published=utc(2025, 6, 10, 15, 0, 6),
            counters=(("views", 10450),),
        ),
        RawItem(
            external_id="yt:video:ZyXwVuTsRqP",
            url="https://www.youtube.com/shorts/ZyXwVuTsRqP",
            title="Acme Shorts #1",
            text="",
            author="Acme Official",
            published=utc(2025, 6, 9, 9, 0),
            counters=(("views", 987),),
        ),
    )
    assert feed.items[0].reach == 10450


def test_reddit_atom() -> None:
    feed = parse_feed(fixture("reddit.atom"), url="https://www.reddit.com/search.rss?q=acme")
    assert feed.items == (
        RawItem(
            external_id="t3_1l7q2xz",  # not resolved against the feed URL
            url="https://www.reddit.com/r/gadgets/comments/1l7q2xz/anyone_tried_the_acme_widget_2/",
            title="Anyone tried the Acme Widget 2?",
            text="Thinking of upgrading.\nsubmitted by /u/gizmo_fan",
            author="/u/gizmo_fan",
            published=utc(2025, 6, 10, 9, 12, 44),
        ),
    )


def test_google_news_bing_and_discourse_rss() -> None:
    google = parse_feed(fixture("googlenews.xml"), url="https://news.google.com/rss/search")
    assert google.items == (
        RawItem(
            external_id="CBMiTESTACME01",
            url="https://news.google.com/rss/articles/CBMiTESTACME01?oc=5",
            title="Acme Corp unveils Widget 2 - Example Times",
            text="Acme Corp unveils Widget 2 Example Times",
            published=utc(2025, 6, 10, 8, 0),
            lang="en",
        ),
    )
    bing_url = (
        "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=ab12"
        "&url=https%3a%2f%2fwww.exampletimes.com%2ftech%2facme-widget-2&c=123&mkt=en-us"
    )
    bing = parse_feed(fixture("bing.xml"), url="https://www.bing.com/news/search?q=acme")
    assert bing.parser == "fast"  # the News: namespace changes per query, harmlessly
    assert bing.items == (
        RawItem(
            external_id=bing_url,
            url=bing_url,
            title="Acme Corp unveils Widget 2",
            text="Acme Corp on Tuesday unveiled Widget 2, a faster successor ...",
            published=utc(2025, 6, 10, 8, 5),
        ),
    )
    forum = parse_feed(fixture("discourse.xml"), url="https://forum.example.com/latest.rss")
    assert forum.items == (
        RawItem(
            external_id="forum.example.com-topic-106766",
            url="https://forum.example.com/t/anyone-using-acme-for-ci-caching/106766",
            title="Anyone using Acme for CI caching?",
            text=(
                "We are evaluating Acme for CI caching\u2026\n9 posts - 6 participants\n"
                "Read full topic"
            ),
            author="lee",
            published=utc(2025, 6, 8, 14, 0),
        ),
    )


# ---------------------------------------------------------------------- encodings

BLABAER = RawItem(
    external_id="https://no.example.com/blabaer",
    url="https://no.example.com/blabaer",
    title="Bl\u00e5b\u00e6r fra Acme",
    # the 0x96 byte is a Windows-1252 en dash in an "ISO-8859-1" feed
    text="Syltet\u00f8y med \u00e6, \u00f8 og \u00e5 \u2013 godt.",
)


def test_latin1_declared_in_the_prolog() -> None:
    feed = parse_feed(fixture("latin1.xml"), url="https://no.example.com/rss")
    assert feed.parser == "fast"
    assert feed.items == (BLABAER,)


def test_latin1_declared_only_in_the_http_header() -> None:
    body = fixture("latin1_noprolog.xml")
    url = "https://no.example.com/rss"
    # expat would read it as UTF-8: the fast path must step aside
    with pytest.raises(_Unsure):
        _parse_fast(body, url=url, content_type="text/xml; charset=iso-8859-1")
    feed = parse_feed(body, url=url, content_type="text/xml; charset=iso-8859-1")
    assert (feed.parser, feed.bozo) == ("feedparser", None)
    assert feed.items == (
        RawItem(
            external_id="https://no.example.com/blabaer",
            url="https://no.example.com/blabaer",
            title="Bl\u00e5b\u00e6r fra Acme",
            text="R\u00f8dgr\u00f8d",
        ),
    )


def test_header_charset_that_contradicts_the_prolog_is_not_fast() -> None:
    body = fixture("rss20.xml")
    with pytest.raises(_Unsure):
        _parse_fast(body, url="https://x.example/", content_type="text/xml; charset=iso-8859-1")
    # utf-8 in the header agrees with the prolog: fine
    _parse_fast(body, url="https://x.example/", content_type="text/xml; charset=UTF-8")


def test_undecodable_bytes_fall_back_with_a_note() -> None:
    body = b'<?xml version="1.0" encoding="utf-8"?>' + fixture("latin1_noprolog.xml")
    feed = parse_feed(body, url="https://no.example.com/rss")
    assert feed.parser == "feedparser"
    assert feed.bozo == "encoding: declared utf-8, read as cp1252"
    assert feed.items[0].title == "Bl\u00e5b\u00e6r fra Acme"


def test_utf16_with_bom() -> None:
    body = fixture("rss091.xml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    feed = parse_feed(body.encode("utf-16"), url="http://oldschool.example.com/rss.xml")
    assert feed.parser == "feedparser"
    assert [i.title for i in feed.items] == ["Acme opens a store", "Acme closes a store"]


# ------------------------------------------------------------------- JSON Feed


def test_json_feed_11() -> None:
    feed = parse_feed(fixture("jsonfeed11.json"), url="https://acme.example.com/blog/feed.json")
    assert (feed.kind, feed.title, feed.parser) == ("json11", "Acme Engineering Blog", "jsonfeed")
    assert feed.bozo == "skipped 1 item(s) that are not objects"
    assert feed.items == (
        RawItem(
            external_id="https://acme.example.com/blog/widget-2",
            url="https://acme.example.com/blog/widget-2",
            title="Introducing Widget 2",
            text="Today we are shipping Widget 2\u2026\nIt is faster.",  # content_html first
            author="Jane Roe",  # the first of "authors"
            published=utc(2025, 6, 10, 13, 0),  # 08:00-05:00
            lang="en",  # feed language en-US
        ),
        RawItem(
            external_id="12345",  # numeric id coerced
            url="https://news.example.org/story/acme",  # external_url
            title="Acme in the news",
            # content_text is plain text: "<not a tag>" stays, lines are tidied
            text="A plain text\n\nbody with <not a tag> & no markup.",
            author="Acme Engineering",  # the feed's authors
            published=utc(2025, 6, 9, 12, 0),  # date_modified when no date_published
            lang="nl",
        ),
        RawItem(
            external_id="note-3",
            url="https://acme.example.com/blog/notes/3",  # relative, resolved
            title="",
            text="A note with only a summary",
            author="Acme Engineering",
            published=None,  # "not a date"
            lang="en",
        ),
    )


def test_json_feed_10() -> None:
    feed = parse_feed(fixture("jsonfeed10.json"), url="https://micro.example.com/feed.json")
    assert (feed.kind, feed.title, feed.parser, feed.bozo) == (
        "json1",
        "Acme Microblog",
        "jsonfeed",
        None,
    )
    assert feed.items == (
        RawItem(
            external_id="1001",
            url="https://micro.example.com/2025/06/10/1001.html",
            title="",
            text="Loving the new @acme widget!",
            author="Sam Smith",  # 1.0 "author" object
            published=utc(2025, 6, 10, 10, 34, 56),
        ),
        RawItem(
            external_id="1002",
            url="https://micro.example.com/2025/06/11/1002.html",
            title="",
            text="Second post, no author of its own.",
            author="Acme Social Team",  # the feed's 1.0 author
            published=utc(2025, 6, 11, 7, 0),
        ),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"data": {"children": []}}', "not a feed: got JSON that is not a JSON Feed"),
        (b'{"version": "1.1", "items": []}', "not a feed: got JSON that is not a JSON Feed"),
        (b"[1, 2, 3]", "not a feed: got JSON that is not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not a feed: invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not a feed:"),  # nesting bomb
    ],
)
def test_json_that_is_not_a_json_feed(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=f"^{message}"):
        parse_feed(body, url="https://api.example.com/x.json", content_type="application/json")


def test_json_feed_with_bom_and_without_items() -> None:
    body = b'\xef\xbb\xbf{"version": "https://jsonfeed.org/version/1.1", "title": "T"}'
    feed = parse_feed(body, url="https://x.example/feed.json")
    assert feed == ParsedFeed(
        kind="json11", title="T", items=(), parser="jsonfeed", bozo="no items list"
    )


# -------------------------------------------------------- not feeds, broken feeds


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", None, "not a feed: empty body"),
        (b" \r\n\t ", "application/rss+xml", "not a feed: empty body"),
        (fixture("html_page.html"), "text/html", "not a feed: got an HTML page"),
        (b"<html><body>blocked</body></html>", "text/xml", "not a feed: got an HTML page"),
        (b"<div class='error'><p>Blocked</p></div>", None, "not a feed: got an HTML page"),
        (b"Too Many Requests", "text/plain", "not a feed: no RSS, Atom or JSON Feed found"),
        (b"<?xml version='1.0'?><kml><Document/></kml>", None, "not a feed: no RSS, Atom"),
    ],
)
def test_not_a_feed(body: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(SourceError, match=f"^{message}"):
        parse_feed(body, url="https://example.com/feed", content_type=content_type)


def test_malformed_feed_keeps_what_was_recovered() -> None:
    feed = parse_feed(fixture("malformed.xml"), url="https://broken.example.com/feed")
    assert (feed.kind, feed.title, feed.parser) == ("rss20", "Broken Acme Feed", "feedparser")
    assert feed.bozo == "malformed XML: undefined entity at line 11"
    # the truncated third <item> had nothing in it worth keeping
    assert feed.items == (
        RawItem(
            external_id="https://broken.example.com/1",
            url="https://broken.example.com/1",
            title="First complete item",
            text="Acme is fine here.",  # the undeclared &nbsp; read as HTML
            published=utc(2025, 6, 9, 10, 0),
        ),
        RawItem(
            external_id="https://broken.example.com/2",
            url="https://broken.example.com/2",
            title="Second item with an unclosed tag",
            text="Still readable",
        ),
    )


def test_mismatched_tag_is_reported_with_its_line() -> None:
    body = fixture("rss091.xml").replace(b"<title>Acme closes a store</title>", b"<title>x</b>")
    feed = parse_feed(body, url="http://oldschool.example.com/rss.xml")
    assert feed.bozo == "malformed XML: mismatched tag at line 14"
    assert feed.items[0].title == "Acme opens a store"


def test_a_body_that_names_a_local_file_is_not_opened(tmp_path: Path) -> None:
    # feedparser.parse(bytes) would open a file of that name; we only hand it streams.
    secret = tmp_path / "feed.xml"
    secret.write_bytes(fixture("rss20.xml"))
    with pytest.raises(SourceError, match=r"^not a feed"):
        parse_feed(str(secret).encode(), url="https://evil.example.com/feed")


# ------------------------------------------------------------------ hostile XML


def test_xxe_fixture_never_reads_etc_passwd() -> None:
    body = fixture("xxe.xml")
    with pytest.raises(_Unsure):
        _parse_fast(body, url="https://evil.example.com/feed", content_type=None)
    feed = parse_feed(body, url="https://evil.example.com/feed")
    assert feed.bozo is not None
    assert feed.bozo.startswith("entity declarations removed")
    assert feed.items == (
        RawItem(
            external_id="https://evil.example.com/1",
            url="https://evil.example.com/1",
            title="Leak: &xxe;",  # the reference stays unexpanded text
            text="Body &xxe; end",
        ),
    )


@pytest.mark.parametrize("declaration", ["SYSTEM", "PUBLIC '-//x//y//EN'"])
def test_external_entities_are_never_read(tmp_path: Path, declaration: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4711")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "TOPSECRET-4711">')
    documents = [
        # an external general entity: the declaration is cut out, the reference stays
        (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY leak {declaration} "file://{secret}">]>'
            "<rss version='2.0'><channel><title>t &leak;</title><item><title>a &leak;</title>"
            "<description>&leak;</description></item></channel></rss>",
            "a &leak;",
        ),
        # an external DTD that would declare the entity: never fetched, so the
        # reference to an unknown entity is skipped
        (
            f'<?xml version="1.0"?><!DOCTYPE rss {declaration} "file://{dtd}">'
            "<rss version='2.0'><channel><title>t</title><item><title>a &leak;</title>"
            "<description>&leak;</description></item></channel></rss>",
            "a",
        ),
    ]
    for document, title in documents:
        feed = parse_feed(document.encode(), url="https://evil.example.com/feed")
        assert "TOPSECRET" not in repr(feed)
        assert [item.title for item in feed.items] == [title]


def test_billion_laughs_fixture_stays_small_and_fast() -> None:
    tracemalloc.start()
    try:
        start = time.perf_counter()
        feed = parse_feed(fixture("billion_laughs.xml"), url="https://evil.example.com/feed")
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 20_000_000
    assert feed.bozo is not None
    assert feed.bozo.startswith("entity declarations removed")
    assert [(i.title, i.text) for i in feed.items] == [("Bomb &lol9;", "&lol9;")]


@pytest.mark.parametrize("broken", [False, True], ids=["well-formed", "malformed"])
def test_quadratic_blowup_is_defused(broken: bool) -> None:
    # One 50 kB entity referenced 20 000 times: a gigabyte if expanded. feedparser's
    # lenient parser does expand such "safe" entities itself (27 s, 3 GB when tried).
    refs = "&a;" * 20_000
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "x" * 50_000 + '">\n]>\n'
        "<rss version='2.0'><channel><title>t</title><item><title>hi</title>"
        f"<description>{refs}</description></item>{'<oops>' if broken else ''}"
        "</channel></rss>"
    ).encode()
    start = time.perf_counter()
    feed = parse_feed(body, url="https://evil.example.com/feed")
    assert time.perf_counter() - start < 5.0
    assert feed.bozo is not None
    assert "entity declarations removed" in feed.bozo
    assert len(feed.items) == 1
    assert len(feed.items[0].text) <= len(refs)


@pytest.mark.parametrize("element", ["x", "media:group"])
def test_deep_nesting_is_no_recursion_bomb(element: str) -> None:
    depth = 50_000
    body = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        "<channel><title>t</title><item><title>a</title>"
        + f"<{element}>" * depth
        + f"</{element}>" * depth
        + "</item></channel></rss>"
    ).encode()
    start = time.perf_counter()
    feed = parse_feed(body, url="https://evil.example.com/feed")
    assert time.perf_counter() - start < 5.0
    assert [item.title for item in feed.items] == ["a"]


def test_doctype_that_cannot_be_cut_cleanly_is_refused() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "x"><rss version="2.0"></rss>'
    with pytest.raises(SourceError, match="document type declaration"):
        parse_feed(body, url="https://evil.example.com/feed")


# ------------------------------------------------------- what the fast path refuses


RDF_NS = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
SLASH_NS = 'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
WFW_NS = 'xmlns:wfw="http://wellformedweb.org/CommentAPI/"'


@pytest.mark.parametrize(
    ("edits", "fast_ok"),
    [
        pytest.param(
            [("<rss version", '<rss xml:base="https://x.example/" version')], False, id="xml:base"
        ),
        pytest.param(
            [("<title>Widget 2", "<dc:title>x</dc:title><title>Widget 2")], False, id="two titles"
        ),
        pytest.param(
            [("<description>Short", "<summary>x</summary><description>Short")],
            False,
            id="two summaries",
        ),
        pytest.param(
            [("Wed, 11 Jun 2025 08:15:00 GMT", "Wednesday 11th June")], False, id="unusual date"
        ),
        pytest.param(
            [("Photos from", "<b>markup</b> in XML: Photos from")],
            False,
            id="child element in a description",
        ),
        pytest.param(
            [("<category>News", "<image><title>i</title></image><category>N")],
            False,
            id="image in an item",
        ),
        pytest.param(
            [
                (WFW_NS, 'xmlns:media="http://example.com/not-mrss"'),
                ("wfw:commentRss", "media:title"),
            ],
            False,
            id="unknown namespace bound to a feedparser prefix",
        ),
        pytest.param(
            [(SLASH_NS, 'xmlns:shop="http://example.com/ns"'), ("slash:comments", "shop:comments")],
            True,
            id="harmless unknown namespace",
        ),
        pytest.param(
            [("<rss ", f"<rss {RDF_NS} "), ("<item>", '<item rdf:about="urn:acme:1">')],
            True,
            id="rdf:about on RSS 2.0 items",
        ),
    ],
)
def test_fast_path_reads_exactly_or_steps_aside(
    edits: list[tuple[str, str]], fast_ok: bool
) -> None:
    text = fixture("rss20.xml").decode()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    body = text.encode()
    url = "https://blog.example.com/feed.xml"
    slow = _parse_feedparser(body, url=url, content_type=None)
    if fast_ok:
        fast = _parse_fast(body, url=url, content_type=None)
        assert fast == dataclasses.replace(slow, parser="fast")
    else:
        with pytest.raises(_Unsure):
            _parse_fast(body, url=url, content_type=None)
        assert parse_feed(body, url=url) == slow


# ------------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 10 Jun 2025 08:00:00 GMT", utc(2025, 6, 10, 8, 0)),
        ("Tue, 10 Jun 2025 08:00:00 +0200", utc(2025, 6, 10, 6, 0)),
        ("Tue, 10 Jun 2025 08:00:00 -0130", utc(2025, 6, 10, 9, 30)),
        ("Tue, 10 Jun 2025 08:00:00 -0000", utc(2025, 6, 10, 8, 0)),
        ("10 Jun 2025 08:00:00 GMT", utc(2025, 6, 10, 8, 0)),
        ("Tue, 10 Jun 2025 08:00 GMT", utc(2025, 6, 10, 8, 0)),
        ("Tue, 10 Jun 25 08:00:00 GMT", utc(2025, 6, 10, 8, 0)),
        ("Tue, 10 Jun 2025 08:00:00 EDT", utc(2025, 6, 10, 12, 0)),
        ("Tue, 10 JUN 2025 8:00:00 UT", utc(2025, 6, 10, 8, 0)),
        ("Tue, 10 Jun 2025 08:00:00 +0000 (UTC)", utc(2025, 6, 10, 8, 0)),
        ("Mon, 31 Dec 2029 23:30:00 -0100", utc(2030, 1, 1, 0, 30)),
        ("Tue, 31 Jun 2025 08:00:00 GMT", None),
        ("Tue, 10 Jun 2025 24:00:00 GMT", None),
        ("2025-06-10T08:00:00Z", utc(2025, 6, 10, 8, 0)),
        ("2025-06-10T08:00:00+02:00", utc(2025, 6, 10, 6, 0)),
        ("2025-06-10T08:00:00.123456Z", utc(2025, 6, 10, 8, 0)),
        ("2025-06-10T08:00:00", utc(2025, 6, 10, 8, 0)),
        ("2025-06-10", utc(2025, 6, 10)),
        ("2025-06-10 08:00:00", utc(2025, 6, 10, 8, 0)),
        ("2025-06-10T08:00Z", utc(2025, 6, 10, 8, 0)),
        ("2025-06-10T08:00:00+0200", utc(2025, 6, 10, 6, 0)),
        ("2025-06-10T08:00:00.5-05:00", utc(2025, 6, 10, 13, 0)),
    ],
)
def test_dates_match_feedparser(raw: str, expected: datetime | None) -> None:
    assert _parse_date(raw) == expected
    body = (
        "<rss version='2.0'><channel><title>T</title><item><title>x</title>"
        f"<pubDate>{raw}</pubDate></item></channel></rss>"
    ).encode()
    parsed = feedparser.parse(io.BytesIO(body)).entries[0].get("published_parsed")
    assert (None if parsed is None else datetime.fromtimestamp(timegm(parsed), UTC)) == expected


def test_unreadable_dates_fall_back_and_come_out_as_none() -> None:
    body = fixture("rss091.xml").replace(
        b"<title>Acme opens a store</title>",
        b"<title>Acme opens a store</title><pubDate>last Tuesday</pubDate>",
    )
    feed = parse_feed(body, url="http://oldschool.example.com/rss.xml")
    assert feed.parser == "feedparser"
    assert feed.items[0].published is None


# -------------------------------------------------- randomised agreement of paths

_ALPHABET = [
    *"ab XY&<>;#'\"\t\n",
    *("&amp;", "&lt;b&gt;", "&#8217;", "\u00e9", "\x93", "\u00c3\u00a9", "<p>", "</p>"),
    *("<br>", "&nbsp;", "\u00a0", "AT&amp;T", "https://x.example/", "@", "(", ")"),
]
_DATES = ["Tue, 10 Jun 2025 08:00:00 GMT", "2025-06-10T08:00:00+02:00", "2025-06-10", ""]


def _random_text(r: random.Random) -> str:
    return "".join(r.choice(_ALPHABET) for _ in range(r.randint(0, 8)))


def _markup(r: random.Random, s: str) -> str:
    return f"<![CDATA[{s}]]>" if r.random() < 0.3 and "]]>" not in s else escape(s)


def _random_rss(r: random.Random) -> bytes:
    makers: dict[str, Callable[[], str]] = {
        "title": lambda: f"<title>{_markup(r, _random_text(r))}</title>",
        "link": lambda: (
            "<link>"
            + escape(r.choice(["/a/b", "https://x.example/p?a=1&amp;b=2", "javascript:x", ""]))
            + "</link>"
        ),
        "guid": lambda: f"<guid>{r.choice(['https://x.example/g', 'abc', 'http:///z'])}</guid>",
        "guidf": lambda: '<guid isPermaLink="false">https://x.example/g</guid>',
        "desc": lambda: f"<description>{_markup(r, _random_text(r))}</description>",
        "content": lambda: f"<content:encoded>{_markup(r, _random_text(r))}</content:encoded>",
        "creator": lambda: (
            "<dc:creator>"
            + escape(r.choice(["Jane", "j@x.com (Jane)", "", "jane@x.com", "Ann <a@b.org>"]))
            + "</dc:creator>"
        ),
        "author": lambda: f"<author>{escape(r.choice(['Jo', 'j@x.com (Jo)', '']))}</author>",
        "pubdate": lambda: f"<pubDate>{r.choice(_DATES)}</pubDate>",
        "dcdate": lambda: f"<dc:date>{r.choice(_DATES)}</dc:date>",
        "category": lambda: f"<category>{escape(_random_text(r))}</category>",
        "lang": lambda: f"<dc:language>{r.choice(['de-DE', 'fr', '', 'xx_YY'])}</dc:language>",
        "atomlink": lambda: f'<atom:link rel="{r.choice(["alternate", "self"])}" href="/al"/>',
        "mtitle": lambda: (
            f"<media:group><media:title>{escape(_random_text(r))}</media:title></media:group>"
        ),
        "mdesc": lambda: f"<media:description>{escape(_random_text(r))}</media:description>",
        "source": lambda: f'<source url="https://s.example/">{escape(_random_text(r))}</source>',
    }
    items = "".join(
        "<item>"
        + "".join(makers[k]() for k in r.sample(sorted(makers), r.randint(0, 7)))
        + "</item>"
        for _ in range(r.randint(1, 4))
    )
    channel_lang = r.choice(["", "<language>en-US</language>", "<dc:language>nl</dc:language>"])
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"'
        + r.choice(["", ' xml:lang="de"'])
        + ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>{_markup(r, _random_text(r))}</title>{channel_lang}{items}"
        "</channel></rss>"
    ).encode()


def _random_atom(r: random.Random) -> bytes:
    makers: dict[str, Callable[[], str]] = {
        "title": lambda: f"<title>{escape(_random_text(r))}</title>",
        "htitle": lambda: f'<title type="html">{_markup(r, _random_text(r))}</title>',
        "id": lambda: f"<id>{r.choice(['tag:x,2025:1', 'https://x.example/e', 'rel/id'])}</id>",
        "link": lambda: f'<link href="{r.choice(["/e/1", "https://x.example/e", "e2"])}"/>',
        "link2": lambda: (
            f'<link rel="{r.choice(["alternate", "related"])}" type="'
            + r.choice(["text/html", "application/pdf", "html"])
            + '" href="/l2"/>'
        ),
        "summary": lambda: f"<summary>{escape(_random_text(r))}</summary>",
        "hsummary": lambda: f'<summary type="html">{_markup(r, _random_text(r))}</summary>',
        "content": lambda: f'<content type="text">{escape(_random_text(r))}</content>',
        "hcontent": lambda: f'<content type="html">{_markup(r, _random_text(r))}</content>',
        "author": lambda: (
            f"<author><name>{r.choice(['Jane', '', 'j@x.com (J)'])}</name>"
            + r.choice(["", "<email>e@x.org</email>"])
            + "</author>"
        ),
        "published": lambda: f"<published>{r.choice(_DATES)}</published>",
        "updated": lambda: f"<updated>{r.choice(_DATES)}</updated>",
        "category": lambda: '<category term="x"/>',
    }
    entries = "".join(
        "<entry"
        + r.choice(["", ' xml:lang="fr"', ' xml:lang=""'])
        + ">"
        + "".join(makers[k]() for k in r.sample(sorted(makers), r.randint(0, 7)))
        + "</entry>"
        for _ in range(r.randint(1, 4))
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
        + r.choice(["", ' xml:lang="en-GB"'])
        + f"><title>{escape(_random_text(r))}</title>"
        + r.choice(["", "<author><name>Feed Author</name></author>"])
        + entries
        + "</feed>"
    ).encode()


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.booleans())
def test_random_feeds_read_the_same_on_both_paths(seed: int, atom: bool) -> None:
    body = (_random_atom if atom else _random_rss)(random.Random(seed))
    url = "https://feed.example.com/dir/feed.xml"
    try:
        fast = _parse_fast(body, url=url, content_type=None)
    except _Unsure:
        return  # feedparser's business; nothing to compare
    assert fast == dataclasses.replace(
        _parse_feedparser(body, url=url, content_type=None), parser="fast"
    )
