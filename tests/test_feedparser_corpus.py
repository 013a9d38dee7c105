"""feedparser's own test corpus as a conformance suite for mentionwatch's feed parsing.

The ``tests/`` folder of the feedparser 6.0.12 sdist (2,242 feeds: well-formed and
ill-formed RSS/Atom/RDF, entities, encodings) is downloaded once with pip and cached
(``$MENTIONWATCH_TEST_CACHE``, default ``~/.cache/mentionwatch-tests``); without a
network the module is skipped, saying why. Two checks:

* ``parse_feed`` (whichever path it takes) against ``feedparser.parse()`` on the same
  bytes, per entry: URL, title, text, published time and author. A short, reviewed
  list of expected differences says why each one is right; any other difference fails.
* The fast path against mentionwatch's own feedparser fallback on every feed the fast
  path accepts: they must agree exactly.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser
import pytest

from mentionwatch.errors import SourceError
from mentionwatch.sources.feeds import _parse_fast, _parse_feedparser, _Unsure, parse_feed
from mentionwatch.textutil import html_to_text, normalize_space

VERSION = "6.0.12"
SDIST = f"feedparser-{VERSION}.tar.gz"
BASE = "http://example.com/feed"
Entry = tuple[str, str, str, datetime | None, str]  # url, title, text, published, author

# Reviewed differences from feedparser: file -> (fields, why mentionwatch is right).
# Fields are comma-separated; "count" means the entries differ in number.
EXPECTED: dict[str, tuple[str, str]] = {
    "wellformed/atom10/entry_id_with_attributes.xml": (
        "count",
        "an id that is not an absolute http(s) URL is an identifier: feedparser copies it "
        "into `link` (guidislink); we keep it as the external id, so an entry with only "
        "an id has nothing to show and is dropped",
    ),
    "wellformed/base/http_entry_id_base_content_location.xml": (
        "count",
        "relative id taken as a link by feedparser (see entry_id_with_attributes)",
    ),
    "wellformed/base/http_entry_id_base_docuri.xml": (
        "count",
        "relative id taken as a link by feedparser (see entry_id_with_attributes)",
    ),
    "wellformed/node_precedence/atom10_id.xml": (
        "count",
        "relative id taken as a link by feedparser (see entry_id_with_attributes)",
    ),
    "wellformed/lang/http_content_language_entry_title_inherit_2.xml": (
        "url",
        "relative id '1' taken as a link by feedparser (see entry_id_with_attributes)",
    ),
    "wellformed/rss/item_category_image.xml": (
        "count",
        "feedparser takes the <title> of an <image> inside a <category> as the entry's "
        "title; the entry has no title of its own, so nothing to show, on either of our "
        "paths (issue 13, item 5)",
    ),
    "wellformed/psc/atomsimplechapter.xml": (
        "author",
        "Atom author inheritance: an entry without an author has the feed's (RFC 4287 "
        "4.2.1); feedparser leaves it empty",
    ),
    "wellformed/psc/atomsimplechapterexternal.xml": ("author", "Atom author inheritance"),
    "wellformed/psc/ignore_multiple_psc_chapters.xml": ("author", "Atom author inheritance"),
    "illformed/chardet/shiftjis.xml": (
        "title,text",
        "no declared charset: mentionwatch decodes as windows-1252 after UTF-8 fails, "
        "feedparser guesses another legacy codec; both are mojibake of the same bytes",
    ),
    "encoding/bozo_linenoise.xml": (
        "text",
        "undecodable bytes: a different legacy-codec guess for the same line noise",
    ),
}


def _cache_dir() -> Path:
    configured = os.environ.get("MENTIONWATCH_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mentionwatch-tests"


@pytest.fixture(scope="module")
def corpus() -> dict[str, bytes]:
    # The autouse isolated_home fixture moves HOME for each test; the cache is resolved
    # here, once per module, from the real home (or $MENTIONWATCH_TEST_CACHE).
    cache = CACHE
    sdist = cache / SDIST
    if not sdist.exists():
        cache.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-binary",
                    ":all:",
                    "--no-deps",
                    "--quiet",
                    f"feedparser=={VERSION}",
                    "-d",
                    str(cache),
                ],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot download the feedparser {VERSION} sdist (offline?): {exc}")
        if done.returncode != 0 or not sdist.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"cannot download the feedparser {VERSION} sdist (offline?): {last}")
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            _, _, inside = member.name.partition("/tests/")
            if member.isfile() and inside and member.name.endswith(".xml"):
                data = archive.extractfile(member)
                if data is not None:
                    files[inside] = data.read()
    assert len(files) > 2000, f"the sdist holds only {len(files)} test feeds"
    return files


CACHE = _cache_dir()


def _text(detail: Any, value: str) -> str:
    kind = detail.get("type", "text/html") if isinstance(detail, dict) else "text/html"
    return normalize_space(value) if kind == "text/plain" else html_to_text(value)


def _feedparser_entries(body: bytes) -> list[Entry]:
    """What feedparser.parse() says, read the plain way a user of it would."""
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    out: list[Entry] = []
    for e in parsed.entries:
        link = e.get("link") or ""
        url = urljoin(BASE, link) if link else ""
        if not url.lower().startswith(("http://", "https://")):
            url = ""
        contents = e.get("content") or []
        if contents and contents[0].get("value", "").strip():
            text = _text(contents[0], contents[0]["value"])
        else:
            text = _text(e.get("summary_detail"), e.get("summary", ""))
        person = e.get("author_detail") or {}
        when = e.get("published_parsed") or e.get("updated_parsed")
        entry = (
            url,
            _text(e.get("title_detail"), e.get("title", "")),
            text,
            datetime(*when[:6], tzinfo=UTC) if when else None,
            normalize_space(person.get("name") or person.get("email") or ""),
        )
        if entry[0] or entry[1] or entry[2]:  # nothing to show: mentionwatch drops it too
            out.append(entry)
    return out


def _ours(body: bytes) -> list[Entry] | None:
    try:
        items = parse_feed(body, url=BASE).items
    except SourceError:
        return None
    return [(i.url, i.title, i.text, i.published, i.author) for i in items]


FIELDS = ("url", "title", "text", "published", "author")


def _differences(ours: list[Entry] | None, theirs: list[Entry]) -> set[str]:
    if ours is None:
        return {"count"} if theirs else set()
    if len(ours) != len(theirs):
        return {"count"}
    return {
        f
        for a, b in zip(ours, theirs, strict=True)
        for f, x, y in zip(FIELDS, a, b, strict=True)
        if x != y
    }


def test_parse_feed_agrees_with_feedparser(corpus: dict[str, bytes]) -> None:
    unexpected: list[str] = []
    seen_expected: set[str] = set()
    agree = 0
    for name, body in sorted(corpus.items()):
        ours, theirs = _ours(body), _feedparser_entries(body)
        diff = _differences(ours, theirs)
        if not diff:
            agree += 1
            continue
        expected = EXPECTED.get(name)
        if expected is not None and diff <= {*expected[0].split(","), "count"}:
            seen_expected.add(name)
            continue
        unexpected.append(f"{name}: {sorted(diff)}\n  ours:   {ours}\n  theirs: {theirs}")
    print(f"\nfeedparser corpus: {agree} of {len(corpus)} feeds agree with feedparser.parse()")
    assert unexpected == [], "\n".join(unexpected)
    # A listed difference that no longer happens must leave the list (it was fixed).
    assert seen_expected == set(EXPECTED), sorted(set(EXPECTED) - seen_expected)


def test_fast_path_agrees_with_the_fallback(corpus: dict[str, bytes]) -> None:
    accepted = 0
    disagree: list[str] = []
    for name, body in sorted(corpus.items()):
        try:
            fast = _parse_fast(body, url=BASE, content_type=None)
        except _Unsure:
            continue
        accepted += 1
        slow = _parse_feedparser(body, url=BASE, content_type=None)
        if fast.items != slow.items:
            disagree.append(f"{name}\n  fast: {fast.items}\n  slow: {slow.items}")
    print(f"\nfast path: accepted {accepted} of {len(corpus)} feeds; {len(disagree)} disagree")
    assert accepted > 500  # the fast path must stay the common one
    assert disagree == [], "\n".join(disagree)
