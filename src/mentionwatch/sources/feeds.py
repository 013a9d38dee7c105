"""Turn the bytes of a feed (RSS 0.9x/2.0, RSS 1.0, Atom 1.0, JSON Feed) into RawItems.

One job: bytes in, :class:`ParsedFeed` out. No network, no database, no console.

Three paths, chosen per document:

* **jsonfeed**: JSON Feed 1.0 and 1.1 have their own small normaliser (feedparser 6
  cannot read them).
* **fast**: well-formed XML that this module fully understands is read with the
  standard library's expat-backed ElementTree. feedparser manages a few thousand
  entries a second and dominated scan time; this path is about ten times faster.
  It is deliberately timid: a DOCTYPE, a parse error, an encoding expat might read
  differently, ``xml:base``, an element feedparser could map onto a field we use,
  a date it cannot read... anything like that raises ``_Unsure`` and the
  document goes to
* **feedparser**, which recovers what it can from broken documents (``bozo``).

Both XML paths fill the same intermediate :class:`_Entry` and share one mapping to
:class:`RawItem`. The fast path mirrors feedparser's rules for what it reads (which
element wins when several compete, stripping, its repair of double-encoded UTF-8
and of Windows-1252 control characters), so a well-formed feed gives identical
items on either path; the tests hold every well-formed fixture, and randomly
generated feeds, to that.

Field rules (both XML paths):

* ``external_id``: Atom ``id`` / RSS ``guid`` / ``rdf:about``, verbatim (never
  resolved against the feed URL); else the URL; else ``"sha1:"`` + the SHA-1 of
  title and text.
* ``url``: the first alternate HTML link (Atom ``link`` with ``rel="alternate"``
  or no ``rel``; RSS ``link``), resolved against the feed URL; failing that the
  guid or Atom id, if it is a permalink (``isPermaLink`` absent or ``"true"``) and
  an http(s) URL. Only http(s) URLs are kept; anything else becomes ``""``.
* ``title`` and ``text``: plain text. ``text`` is the first non-empty content
  (``content:encoded``, Atom ``content``), else the summary/description. Atom
  text constructs of ``type="text"`` (the default) are taken literally, with
  white space tidied; everything else is HTML.
* ``author``: the first author element that names anyone, in document order and
  whatever its kind (``dc:creator``, RSS ``author``, Atom ``author``,
  ``itunes:author``): its name, or its e-mail address when that is all there is.
  ``"jane@example.com (Jane Roe)"`` gives ``"Jane Roe"``. Atom entries without an
  author inherit the feed's (as the Atom spec says); RSS items do not.
* ``published``: published/pubDate/dcterms:issued, else updated/dc:date;
  timezone-aware UTC to the second (no zone means UTC); ``None`` when absent or
  unreadable.
* ``lang``: the primary language subtag, lower-cased (``"en-US"`` -> ``"en"``), of
  the item (``dc:language``, ``xml:lang``) or else of the feed; ``None`` if unknown.
* ``counters``: ``(("views", n),)`` from YouTube's ``media:statistics``, else ``()``.
* Entries with no title, no text and no URL (a truncated tail) are dropped.

JSON Feed follows its spec: ``title``, ``summary`` and ``content_text`` are plain
text, ``content_html`` is HTML and preferred; ``url`` else ``external_url``;
``date_published`` else ``date_modified``; ``authors`` (1.1) else ``author`` (1.0),
the item's else the feed's.

Hostile input: the fast path refuses any DOCTYPE, so nothing is ever declared,
expanded or fetched. The feedparser path decodes the bytes itself (BOM, then HTTP
charset, then XML declaration, then UTF-8, then Windows-1252), cuts out a DOCTYPE
that declares entities before feedparser sees it (its lenient parser expands
"safe" entities itself: one 50 kB entity used 20 000 times took 27 s and 3 GB),
and hands feedparser a byte stream, never bytes or a string it might take for a
file name or URL.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import html
import io
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser

from ..errors import SourceError
from ..models import RawItem
from ..textutil import html_to_text, normalize_space
from ..timeutil import parse_rfc822

__all__ = ["ParsedFeed", "parse_feed"]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """One parsed feed document."""

    kind: str  # feedparser's version names: "rss20", "rss10", "atom10", "json11", ...
    title: str
    items: tuple[RawItem, ...]
    parser: str  # "fast", "feedparser" or "jsonfeed": which path produced it
    bozo: str | None = None  # set when the document was malformed but items were recovered


def parse_feed(content: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed body fetched from ``url`` (served with ``content_type``).

    Raises :class:`SourceError` when the body is not a feed at all (empty, an HTML
    page, JSON that is not a JSON Feed, anything feedparser finds no feed in).
    """
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head and not content.strip():
        raise SourceError("not a feed: empty body")
    if head.startswith((b"{", b"[")):
        return _parse_json_feed(content, url=url)
    if _HTML_START.match(head) and not _EMBEDDED_ATOM.search(content):
        raise SourceError("not a feed: got an HTML page")
    try:
        return _parse_fast(content, url=url, content_type=content_type)
    except _Unsure:
        pass
    return _parse_feedparser(content, url=url, content_type=content_type)


# --------------------------------------------------------------------------- shared


@dataclass(slots=True)
class _Entry:
    """What either XML path read from one entry, before the shared mapping."""

    guid: str = ""
    guid_is_link: bool = False  # feedparser's "guidislink": a permalink and no link before it
    link: str = ""  # first alternate HTML link, as written (maybe relative)
    title: str = ""
    title_plain: bool = False  # Atom type="text": not HTML
    summary: str = ""
    summary_plain: bool = False
    content: str = ""  # the first content element
    content_plain: bool = False
    author: str = ""  # name (or, lacking one, e-mail) of the first author named
    published: datetime | None = None
    updated: datetime | None = None
    lang: str | None = None
    views: int | None = None


_HTTP_SCHEMES: Final = frozenset({"http", "https"})
_HTTP_PREFIXES: Final = ("http://", "https://")
# An Atom feed inside an XHTML page: feedparser recovers its entries, so it is no
# "HTML page instead of a feed".
_EMBEDDED_ATOM: Final = re.compile(
    rb"<(?:\w+:)?feed\b[^>]*\bxmlns(?::\w+)?\s*=\s*[\"']http://www\.w3\.org/2005/Atom"
)
# An absolute http(s) URL with nothing to resolve; group 1 is its origin.
_PLAIN_HTTP_URL: Final = re.compile(r"([Hh][Tt][Tt][Pp][Ss]?://[^\s/?#\[\]@\\]+)(?:[/?#]\S*)?")
# The common RFC 822 shape, read without email.utils (five times faster); anything
# else goes to timeutil.parse_rfc822, which gives the same result for this shape.
_RFC822: Final = re.compile(
    r"(?:[A-Za-z]{3}, ?)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2})"
    r" (?:([+-])(\d{2})(\d{2})|GMT|UTC?|Z)"
)
# An ISO 8601 date with a month, day, hour, minute or second out of range.
_IMPOSSIBLE_ISO: Final = re.compile(
    r"\d{4}-(?:(?:1[3-9]|[2-9]\d|00)|\d{2}-(?:3[2-9]|[4-9]\d|00)"
    r"|\d{2}-\d{2}[T ](?:2[5-9]|[3-9]\d|\d{2}:[6-9]\d|\d{2}:\d{2}:(?:6[1-9]|[7-9]\d)))"
)
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_LANG_TAG: Final = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _http_url(candidate: str, base: str) -> str:
    """``candidate`` resolved against ``base`` if that gives an http(s) URL, else ""."""
    candidate = candidate.strip()
    if not candidate:
        return ""
    if _PLAIN_HTTP_URL.fullmatch(candidate):
        return candidate  # already absolute: skip urljoin, the costliest step of a link
    if candidate[0] == "/" and candidate[1:2] != "/" and "/." not in candidate and base:
        origin = _PLAIN_HTTP_URL.match(base)
        if origin is not None and _PLAIN_HTTP_URL.fullmatch(origin[1] + candidate):
            return origin[1] + candidate  # a path from the root: glue on the origin
    try:
        resolved = urljoin(base, candidate)
        parts = urlsplit(resolved)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return ""
    if parts.scheme.lower() not in _HTTP_SCHEMES or not parts.netloc:
        return ""
    return resolved


def _language(tag: str | None) -> str | None:
    """Primary language subtag, lower-cased: "en-US" -> "en"; None if not a language tag."""
    if not tag:
        return None
    m = _LANG_TAG.fullmatch(tag.strip())
    return m.group(1).lower() if m else None


def _person(raw: str) -> tuple[str, str]:
    """Split RSS-style "jane@example.com (Jane Roe)" into ("Jane Roe", "jane@example.com")."""
    m = _EMAIL.search(raw)
    if m is None:
        return raw, ""
    rest = (raw[: m.start()] + raw[m.end() :]).replace("()", "").replace("<>", "").strip()
    rest = rest.removeprefix("(").removesuffix(")").strip()
    return rest, m.group()


def _display_name(name: str, email: str) -> str:
    # A name may still carry an address when the feed packed both into one string.
    name, found = _person(name) if name else ("", "")
    return normalize_space(name or email or found)


def _parse_date(raw: str) -> datetime | None:
    """RFC 822 or ISO 8601 -> aware UTC datetime to the second; None if unreadable."""
    s = raw.strip()
    try:
        if len(s) >= 10 and s[4] == "-" and s[:4].isdigit():
            dt = datetime.fromisoformat(s[:-1] + "+00:00" if s[-1] in "Zz" else s)
        elif (m := _RFC822.fullmatch(s)) is not None and m[2].lower() in _MONTHS:
            day, month, year = int(m[1]), _MONTHS[m[2].lower()], int(m[3])
            dt = datetime(year, month, day, int(m[4]), int(m[5]), int(m[6]), tzinfo=UTC)
            if m[7] is not None:
                offset = timedelta(hours=int(m[8]), minutes=int(m[9]))
                dt = dt - offset if m[7] == "+" else dt + offset
        elif s:
            # An unknown zone gives None, so the fast path hands the entry to feedparser.
            found = parse_rfc822(s)
            if found is None:
                return None
            dt = found
        else:
            return None
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    # A date without a zone is taken as UTC, as feedparser does.
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.utcoffset():
        dt = dt.astimezone(UTC)
    # feedparser's struct_time has no sub-seconds; drop them so both paths agree.
    return dt.replace(microsecond=0) if dt.microsecond else dt


def _views(raw: object) -> int | None:
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _finish(entry: _Entry, *, base: str, feed_author: str) -> RawItem:
    """The one mapping from what a parser read to a RawItem."""
    title = normalize_space(entry.title) if entry.title_plain else html_to_text(entry.title)
    if entry.content.strip():
        body, plain = entry.content, entry.content_plain
    else:
        body, plain = entry.summary, entry.summary_plain
    text = normalize_space(body) if plain else html_to_text(body)
    url = _http_url(entry.link, base) if entry.link else ""
    # A scheme is case-insensitive: "HTTP://…" ids are as much a link as "http://…".
    if not url and entry.guid_is_link and entry.guid[:8].lower().startswith(_HTTP_PREFIXES):
        url = _http_url(entry.guid, "")
        scheme, colon, rest = url.partition(":")
        url = scheme.lower() + colon + rest  # "HTTP://x" -> "http://x", as feedparser does
    external_id = entry.guid.strip() or url
    if not external_id:
        digest = hashlib.sha1(f"{title}\n{text}".encode(), usedforsecurity=False).hexdigest()
        external_id = f"sha1:{digest}"
    return RawItem(
        external_id=external_id,
        url=url,
        title=title,
        text=text,
        author=entry.author or feed_author,
        published=entry.published or entry.updated,
        lang=_language(entry.lang),
        counters=(("views", entry.views),) if entry.views is not None else (),
    )


def _worth_keeping(item: RawItem) -> bool:
    # An entry with no title, no text and no link (a truncated tail, an empty
    # <item/>) has nothing to match or show.
    return bool(item.title or item.text or item.url)


def _feed_title(raw: str, plain: bool) -> str:
    return normalize_space(raw) if plain else html_to_text(raw)


# ------------------------------------------------------------------------ JSON Feed

_JSON_KINDS: Final = {"1": "json1", "1.1": "json11"}


def _json_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_author(obj: Mapping[str, Any]) -> str:
    """Name of the first author: 1.1 ``authors`` list, else 1.0 ``author`` object."""
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else [obj.get("author")]
    for person in candidates:
        if isinstance(person, dict):
            name = normalize_space(_json_str(person.get("name")))
            if name:
                return name
    return ""


def _json_id(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    # The spec asks for non-string ids to be coerced; JSON's own spelling is stable.
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return ""


def _parse_json_feed(content: bytes, *, url: str) -> ParsedFeed:
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"not a feed: invalid JSON ({exc})") from exc
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith(
        ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
    ):
        raise SourceError("not a feed: got JSON that is not a JSON Feed (no jsonfeed.org version)")
    kind = _JSON_KINDS.get(version.rsplit("/", 1)[-1], "json")
    feed_author = _json_author(doc)
    feed_lang = _json_str(doc.get("language"))
    raw_items = doc.get("items")
    problems: list[str] = []
    if not isinstance(raw_items, list):
        problems.append("no items list")
        raw_items = []
    items: list[RawItem] = []
    skipped = 0
    for obj in raw_items:
        if not isinstance(obj, dict):
            skipped += 1
            continue
        item = _json_item(obj, url=url, feed_author=feed_author, feed_lang=feed_lang)
        if _worth_keeping(item):
            items.append(item)
    if skipped:
        problems.append(f"skipped {skipped} item(s) that are not objects")
    return ParsedFeed(
        kind=kind,
        title=normalize_space(_json_str(doc.get("title"))),
        items=tuple(items),
        parser="jsonfeed",
        bozo="; ".join(problems) or None,
    )


def _json_item(obj: Mapping[str, Any], *, url: str, feed_author: str, feed_lang: str) -> RawItem:
    # JSON Feed declares title, summary and content_text plain text; only
    # content_html is markup.
    title = normalize_space(_json_str(obj.get("title")))
    content_html = _json_str(obj.get("content_html"))
    if content_html.strip():
        text = html_to_text(content_html)
    else:
        text = normalize_space(_json_str(obj.get("content_text")) or _json_str(obj.get("summary")))
    link = _json_str(obj.get("url")) or _json_str(obj.get("external_url"))
    item_url = _http_url(link, url)
    external_id = _json_id(obj.get("id")) or item_url
    if not external_id:
        digest = hashlib.sha1(f"{title}\n{text}".encode(), usedforsecurity=False).hexdigest()
        external_id = f"sha1:{digest}"
    published = _parse_date(_json_str(obj.get("date_published"))) or _parse_date(
        _json_str(obj.get("date_modified"))
    )
    return RawItem(
        external_id=external_id,
        url=item_url,
        title=title,
        text=text,
        author=_json_author(obj) or feed_author,
        published=published,
        lang=_language(_json_str(obj.get("language")) or feed_lang),
    )


# ------------------------------------------------------------------------ fast path


class _Unsure(Exception):
    """The fast path met something it cannot promise to read exactly like feedparser."""


_ATOM: Final = "http://www.w3.org/2005/Atom"
_RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS10: Final = "http://purl.org/rss/1.0/"
_RSS090: Final = "http://my.netscape.com/rdf/simple/0.9/"
_XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
_XML_LANG: Final = f"{{{_XML_NS}}}lang"
_XML_BASE: Final = f"{{{_XML_NS}}}base"
_RDF_ABOUT: Final = f"{{{_RDF}}}about"
_RSS_VERSIONS: Final = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}

# Namespaces as feedparser names them. Elements of the first group are treated by
# feedparser exactly like un-namespaced ones (an atom:link in an RSS item is a link).
_NS_PREFIX: Final = {
    "": "",
    _ATOM.lower(): "",
    _RSS10: "",
    _RSS090: "",
    "http://purl.org/atom/ns#": "",
    "http://backend.userland.com/rss": "",
    "http://blogs.law.harvard.edu/tech/rss": "",
    "http://purl.org/rss/1.0/modules/rss091#": "",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes",
    "http://www.w3.org/1999/xhtml": "xhtml",
    "http://www.georss.org/georss": "georss",
    "http://www.opengis.net/gml": "gml",
    "http://podlove.org/simple-chapters": "psc",
    "http://creativecommons.org/ns#license": "cc",
    "http://web.resource.org/cc/": "cc",
    "http://cyber.law.harvard.edu/rss/creativecommonsrssmodule.html": "creativecommons",
    "http://backend.userland.com/creativecommonsrssmodule": "creativecommons",
    "http://rssnamespace.org/feedburner/ext/1.0": "feedburner",
    "http://webns.net/mvcb/": "admin",
}
# Prefixes for which feedparser has element handlers. An unknown namespace that a
# document binds to one of these (or to no prefix) could land in our fields.
_HANDLER_PREFIXES: Final = frozenset(
    {"", "admin", "cc", "content", "creativecommons", "dc", "dcterms", "feedburner"}
    | {"georss", "gml", "itunes", "media", "psc", "xhtml"}
)
_IGNORE: Final = "ignore"  # the prefix class of harmless unknown namespaces
_MAX_DEPTH: Final = 3  # media:group > media:community > media:statistics

# What each element means to an entry. Keys are (feedparser prefix, lower-case name).
_TITLE, _MEDIA_TITLE, _LINK, _GUID, _SUMMARY, _CONTENT = range(6)
_AUTHOR, _PUBLISHED, _UPDATED, _LANGUAGE, _DESCEND, _VIEWS, _SOURCE = range(6, 13)
_FIELDS: Final[dict[tuple[str, str], int]] = {
    ("", "title"): _TITLE,
    ("dc", "title"): _TITLE,
    ("media", "title"): _MEDIA_TITLE,
    ("", "link"): _LINK,
    ("", "guid"): _GUID,
    ("", "id"): _GUID,
    ("", "description"): _SUMMARY,
    ("dc", "description"): _SUMMARY,
    ("media", "description"): _SUMMARY,
    ("", "summary"): _SUMMARY,
    ("itunes", "summary"): _SUMMARY,
    ("", "content"): _CONTENT,
    ("content", "encoded"): _CONTENT,
    ("", "author"): _AUTHOR,
    ("", "managingeditor"): _AUTHOR,
    ("dc", "creator"): _AUTHOR,
    ("dc", "author"): _AUTHOR,
    ("itunes", "author"): _AUTHOR,
    ("", "published"): _PUBLISHED,
    ("", "pubdate"): _PUBLISHED,
    ("", "issued"): _PUBLISHED,
    ("dcterms", "issued"): _PUBLISHED,
    ("", "updated"): _UPDATED,
    ("", "modified"): _UPDATED,
    ("", "lastbuilddate"): _UPDATED,
    ("dc", "date"): _UPDATED,
    ("dcterms", "modified"): _UPDATED,
    ("", "language"): _LANGUAGE,
    ("dc", "language"): _LANGUAGE,
    ("media", "group"): _DESCEND,
    ("media", "community"): _DESCEND,
    ("media", "statistics"): _VIEWS,
    ("", "source"): _SOURCE,
}
# Default content type per element, as feedparser assumes it.
_HTML_BY_DEFAULT: Final = frozenset(
    {("", "description"), ("dc", "description"), ("media", "description"), ("content", "encoded")}
)
# Un-namespaced elements feedparser stores under keys we never read.
_HARMLESS_PLAIN: Final = frozenset(
    {"category", "comments", "contributor", "copyright", "created", "enclosure"}
    | {"expirationdate", "keywords", "rights", "subtitle", "tagline"}
)
# Handler-prefix elements whose handlers could touch our fields, yet we do not read.
_RISKY: Final = frozenset({("itunes", "name"), ("itunes", "email")})
_LANG_OR_BASE: Final = frozenset({_XML_LANG, "lang", _XML_BASE, "base"})

# Encodings expat decodes the way Python's codecs (and so feedparser) do.
_EXPAT_SAFE: Final = frozenset({"utf-8", "ascii", "iso8859-1", "iso8859-15", "cp1252"})
_XML_DECL_ENCODING: Final = re.compile(
    rb"<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']"
)
# Nothing but an XML declaration, comments, PIs and white space may precede the
# root element; "<!" there means a DOCTYPE, which the fast path never touches.
_PROLOG: Final = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s++|<\?.*?\?>|<!--.*?-->)*+<(?![!?])", re.S)
_XMLNS_DECL: Final = re.compile(rb"xmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*([\"'])(.*?)\2", re.S)
_URI_SLASHES: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+,.-]*://)/+")
_AMP_REF: Final = re.compile(r"&(\w+);")
_HTML_START: Final = re.compile(
    rb"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.S | re.I
)
_C1: Final = re.compile("[\x80-\x9f]")
_CP1252_C1: Final = {
    b: bytes([b]).decode("cp1252")
    for b in range(0x80, 0xA0)
    if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)  # undefined in Windows-1252
}


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _check_encoding(content: bytes, content_type: str | None) -> None:
    """Raise _Unsure unless expat will decode ``content`` as feedparser would."""
    if content[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in content[:4]:
        raise _Unsure("UTF-16/32")
    m = _XML_DECL_ENCODING.match(content, 3 if content.startswith(codecs.BOM_UTF8) else 0)
    declared = _codec(m.group(1).decode("ascii")) if m else "utf-8"
    if declared not in _EXPAT_SAFE:
        raise _Unsure(f"encoding {declared}")
    if content.startswith(codecs.BOM_UTF8) and declared != "utf-8":
        raise _Unsure("BOM contradicts declaration")
    # HTTP's charset beats the XML declaration for feedparser, not for expat.
    header = _header_charset(content_type)
    if header is not None and _codec(header) != declared:
        raise _Unsure(f"charset {header} vs {declared}")


def _fp_text(raw: str | None) -> str:
    """Element text as feedparser hands it over: stripped, mis-encodings repaired."""
    s = raw.strip() if raw else ""
    if s.isascii():
        return s
    if max(s) < "\u0100":
        # feedparser repairs UTF-8 that was decoded as Latin-1 somewhere upstream...
        with contextlib.suppress(UnicodeError):
            s = s.encode("iso-8859-1").decode("utf-8")
    if _C1.search(s):
        # ...and reads C1 control characters as the Windows-1252 they usually are.
        s = s.translate(_CP1252_C1)
    return s


def _fp_uri(uri: str) -> str:
    # feedparser collapses "http:///x" to "http://x" in URIs it resolves.
    return _URI_SLASHES.sub(r"\1", uri) if ":///" in uri else uri


_TYPE_NAMES: Final = {
    "text": "text/plain",
    "plain": "text/plain",
    "html": "text/html",
    "xhtml": "application/xhtml+xml",
}


def _map_type(value: str) -> str:
    """An Atom/MRSS type attribute as a MIME type, the way feedparser maps it."""
    value = value.lower()
    return _TYPE_NAMES.get(value, value)


def _is_html_type(value: str) -> bool:
    return value in ("text/html", "application/xhtml+xml")


@dataclass(slots=True)
class _Doc:
    """Per-document state of the fast path."""

    content: bytes
    atom: bool
    _prefixes: dict[str, set[str]] | None = None
    _classes: dict[str, tuple[str, str]] = field(default_factory=dict)

    def classify(self, tag: str) -> tuple[str, str]:
        """(feedparser prefix, lower-case local name) of an element tag."""
        known = self._classes.get(tag)
        if known is not None:
            return known
        if tag[:1] == "{":
            ns, _, local = tag[1:].partition("}")
        else:
            ns, local = "", tag
        lower_ns = ns.lower()
        if "backend.userland.com/rss" in lower_ns:
            lower_ns = "http://backend.userland.com/rss"
        prefix = _NS_PREFIX.get(lower_ns)
        if prefix is None:
            prefix = self._unknown_namespace(ns)
        result = (prefix, local.lower())
        self._classes[tag] = result
        return result

    def declared_namespaces(self) -> dict[str, set[str]]:
        """Namespace URI -> the prefixes the document binds it to ("" = default)."""
        if self._prefixes is None:
            self._prefixes = {}
            for m in _XMLNS_DECL.finditer(self.content):
                uri = html.unescape(m.group(3).decode("utf-8", "replace"))
                prefix = (m.group(1) or b"").decode("ascii").lower()
                self._prefixes.setdefault(uri, set()).add(prefix)
        return self._prefixes

    def _unknown_namespace(self, ns: str) -> str:
        # feedparser names an unknown namespace by the prefix the document binds it
        # to. Harmless unless that prefix (or none) is one it has handlers for.
        bound = self.declared_namespaces().get(ns)
        if not bound or bound & _HANDLER_PREFIXES:
            raise _Unsure(f"namespace {ns!r}")
        return _IGNORE


def _attrs_lower(el: ET.Element) -> dict[str, str]:
    # feedparser lower-cases attribute names.
    return {k.lower(): v for k, v in el.attrib.items()} if el.attrib else {}


def _check_attrs(el: ET.Element) -> None:
    if el.attrib and not _LANG_OR_BASE.isdisjoint(el.attrib):
        raise _Unsure("xml:lang or xml:base below the entry")


def _text_of(el: ET.Element) -> str:
    if len(el):
        raise _Unsure(f"markup inside <{el.tag}>")
    return _fp_text(el.text)


def _typed_text(el: ET.Element, key: tuple[str, str], doc: _Doc) -> tuple[str, bool]:
    """(text, is plain text) of a title/summary/content element."""
    if not el.attrib:
        return _text_of(el), doc.atom and key not in _HTML_BY_DEFAULT
    attrs = _attrs_lower(el)
    if "mode" in attrs or "src" in attrs:
        raise _Unsure("base64 or out-of-line content")
    default = "text/html" if key in _HTML_BY_DEFAULT else "text/plain"
    kind = _map_type(attrs.get("type", default))
    if kind not in ("text/plain", "text/html"):
        raise _Unsure(f"content type {kind}")  # xhtml, base64 media...
    return _text_of(el), doc.atom and kind == "text/plain"


def _author_of(el: ET.Element, doc: _Doc) -> str:
    """Display name of an author element, RSS style (text) or Atom style (children)."""
    if not len(el):
        name, email = _person(_fp_text(el.text))
        return _display_name(name, email)
    if el.text and el.text.strip():
        raise _Unsure("author with text and children")
    name = email = ""
    for child in el:
        _check_attrs(child)
        prefix, local = doc.classify(child.tag)
        if prefix in ("", "itunes") and local == "name":
            name = _text_of(child)
        elif prefix in ("", "itunes") and local == "email":
            email = _text_of(child)
    return _display_name(name, email)


def _date_of(el: ET.Element) -> datetime | None:
    raw = _text_of(el)
    parsed = _parse_date(raw)
    if parsed is None and raw:
        raise _Unsure(f"date {raw!r}")  # feedparser knows more formats
    return parsed


@dataclass(slots=True)
class _EntryReader:
    """Collects one entry's elements with feedparser's precedence rules."""

    doc: _Doc
    entry: _Entry = field(default_factory=_Entry)
    titles: list[tuple[str, bool]] = field(default_factory=list)
    media_titles: list[tuple[str, bool]] = field(default_factory=list)
    summaries: int = 0
    contents: int = 0
    guids: int = 0
    link_seen: bool = False  # feedparser's "'link' in context"
    source_seen: bool = False
    published: datetime | None = None
    updated: datetime | None = None
    language: str | None = None

    def read(self, item: ET.Element, depth: int = 0) -> None:
        classify = self.doc.classify
        for child in item:
            key = classify(child.tag)
            what = _FIELDS.get(key)
            if what is None:
                self._other(child, key)
            else:
                self._element(child, key, what, depth)

    def _element(self, el: ET.Element, key: tuple[str, str], what: int, depth: int) -> None:
        if el.attrib and not _LANG_OR_BASE.isdisjoint(el.attrib):
            raise _Unsure("xml:lang or xml:base below the entry")
        if depth and what not in (_MEDIA_TITLE, _SUMMARY, _DESCEND, _VIEWS):
            raise _Unsure(f"{key} nested in another element")
        entry = self.entry
        if what == _TITLE:
            self.titles.append(_typed_text(el, key, self.doc))
        elif what == _MEDIA_TITLE:
            if self.source_seen:
                raise _Unsure("media:title after source")  # source resets title priority
            self.media_titles.append(_typed_text(el, key, self.doc))
        elif what == _SUMMARY:
            self.summaries += 1
            if self.summaries > 1:
                # feedparser turns a second summary into content: too clever to mirror.
                raise _Unsure("several summaries")
            entry.summary, entry.summary_plain = _typed_text(el, key, self.doc)
        elif what == _CONTENT:
            self.contents += 1
            value, plain = _typed_text(el, key, self.doc)
            if self.contents == 1:
                entry.content, entry.content_plain = value, plain
        elif what == _LINK:
            self._link(el)
        elif what == _GUID:
            self._guid(el)
        elif what == _AUTHOR:
            name = _author_of(el, self.doc)
            if name and not entry.author:
                entry.author = name
        elif what == _PUBLISHED:
            self.published = _date_of(el)  # the last one wins, as in feedparser
        elif what == _UPDATED:
            self.updated = _date_of(el)
        elif what == _LANGUAGE:
            self.language = _text_of(el)
        elif what == _DESCEND:
            if depth >= _MAX_DEPTH:
                raise _Unsure("media groups nested too deep")  # and no recursion bomb
            self.read(el, depth + 1)
        elif what == _VIEWS:
            entry.views = _views(_attrs_lower(el).get("views"))
        elif what == _SOURCE:
            if len(el):
                raise _Unsure("Atom source element")
            self.source_seen = True

    def _other(self, el: ET.Element, key: tuple[str, str]) -> None:
        prefix, local = key
        if prefix == _IGNORE:
            return
        if prefix == "":
            if local not in _HARMLESS_PLAIN:
                raise _Unsure(f"element <{local}>")
            return
        if prefix == "xhtml" or key in _RISKY:
            raise _Unsure(f"element {key}")

    def _link(self, el: ET.Element) -> None:
        attrs = _attrs_lower(el)
        href = attrs.get("url") or attrs.get("uri") or attrs.get("href")
        if href:
            rel = attrs.get("rel", "alternate").lower()
            default_type = "application/atom+xml" if rel == "self" else "text/html"
            if rel == "alternate" and _is_html_type(_map_type(attrs.get("type", default_type))):
                self.link_seen = True
                if not self.entry.link:
                    self.entry.link = _fp_uri(href)
            return
        if attrs.get("rel", "alternate").lower() != "alternate":
            # e.g. <link rel="enclosure">…mp3</link> before the alternate link: never
            # the post's URL; feedparser's precedence here is its own, so let it decide.
            raise _Unsure("text link with a rel other than alternate")
        # RSS style: the URL is the element's text, which feedparser also unescapes
        # once more ("&amp;" -> "&") for feeds that escape query strings twice.
        value = _fp_uri(_text_of(el))
        if "&" in value:
            value = _AMP_REF.sub(r"&\1", value.replace("&amp;", "&"))
        self.link_seen = True
        if value and not self.entry.link:
            self.entry.link = value

    def _guid(self, el: ET.Element) -> None:
        self.guids += 1
        if self.guids > 1:
            raise _Unsure("several ids")
        permalink = _attrs_lower(el).get("ispermalink", "true") == "true"
        value = _text_of(el)
        self.entry.guid = _fp_uri(value) if permalink else value
        self.entry.guid_is_link = permalink and not self.link_seen

    def finish(self, lang_attr: str | None) -> _Entry:
        entry = self.entry
        if len(self.titles) > 1:
            raise _Unsure("several titles")
        if self.titles:
            if not self.titles[0][0] and self.media_titles:
                raise _Unsure("empty title and media:title")
            entry.title, entry.title_plain = self.titles[0]
        elif len(self.media_titles) > 1:
            raise _Unsure("several media:titles")
        elif self.media_titles:
            entry.title, entry.title_plain = self.media_titles[0]
        entry.published = self.published
        entry.updated = self.updated
        has_text = bool(self.titles or self.media_titles or self.summaries or self.contents)
        entry.lang = self.language or (lang_attr if has_text else None)
        return entry


def _lang_attr(el: ET.Element, inherited: str | None) -> str | None:
    """Effective xml:lang of an element ("" switches the language off)."""
    value = el.get(_XML_LANG, el.get("lang"))
    if value is None:
        return inherited
    return value or None


def _channel_meta(parent: ET.Element, doc: _Doc) -> tuple[str, bool, str, str | None]:
    """(title, title is plain, first author, language element) of a channel or feed."""
    title, plain, author, language = "", False, "", None
    for child in parent:
        try:
            key = doc.classify(child.tag)
        except _Unsure:
            continue  # an unknown channel-level element cannot reach the entries
        what = _FIELDS.get(key)
        if what == _TITLE and not title and not len(child):
            title, plain = _typed_text(child, key, doc)
        elif what == _AUTHOR and not author:
            author = _author_of(child, doc)
        elif what == _LANGUAGE and not len(child):
            language = _fp_text(child.text)
    return title, plain, author, language


def _parse_fast(content: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    """The expat path. Raises _Unsure for anything it does not handle exactly."""
    if not _PROLOG.match(content):
        raise _Unsure("DOCTYPE or junk before the root element")
    _check_encoding(content, content_type)
    try:
        root = ET.fromstring(content)  # noqa: S314 - DOCTYPEs were refused above
    except (ET.ParseError, ValueError, LookupError) as exc:
        raise _Unsure(f"XML error: {exc}") from exc

    tag = root.tag
    rdf = tag == f"{{{_RDF}}}RDF"
    root_lang = _lang_attr(root, None)
    if root.get(_XML_BASE) is not None or root.get("base") is not None:
        raise _Unsure("xml:base")
    if tag == "rss":
        version = root.get("version", "")
        kind = _RSS_VERSIONS.get(version) or ("rss20" if version.startswith("2.") else "rss")
        channels = root.findall("channel")
        if len(channels) != 1:
            raise _Unsure("not exactly one channel")
        channel = channels[0]
        items = channel.findall("item")
        all_items = sum(1 for _ in root.iter("item"))
    elif rdf:
        ns = _RSS10 if root.find(f"{{{_RSS10}}}channel") is not None else _RSS090
        kind = "rss10" if ns == _RSS10 else "rss090"
        rdf_channel = root.find(f"{{{ns}}}channel")
        if rdf_channel is None:
            raise _Unsure("RDF without an RSS channel")
        channel = rdf_channel
        items = root.findall(f"{{{ns}}}item")
        all_items = sum(1 for _ in root.iter(f"{{{ns}}}item")) + sum(1 for _ in root.iter("item"))
    elif tag == f"{{{_ATOM}}}feed":
        kind = "atom10"
        channel = root
        items = root.findall(f"{{{_ATOM}}}entry")
        # feedparser also reads an <item> in an Atom feed as an entry: not ours to mirror.
        all_items = sum(1 for _ in root.iter(f"{{{_ATOM}}}entry")) + sum(
            1
            for el in root.iter()
            if isinstance(el.tag, str) and el.tag.rpartition("}")[2] == "item"
        )
    else:
        raise _Unsure(f"root element {tag!r}")
    if all_items != len(items):
        raise _Unsure("entries outside the channel")
    if channel is not root and channel.attrib and not _LANG_OR_BASE.isdisjoint(channel.attrib):
        raise _Unsure("xml:lang or xml:base on the channel")

    doc = _Doc(content=content, atom=kind.startswith("atom"))
    # feedparser takes its version from the first telling namespace declaration, so
    # an Atom namespace declared in RSS 1.0 (or the reverse) could relabel the feed.
    rival = _ATOM if rdf else _RSS10 if doc.atom else None
    if rival is not None and rival in doc.declared_namespaces():
        raise _Unsure("rival format namespace declared")
    title, title_plain, feed_author, language = _channel_meta(channel, doc)
    feed_lang = language if language is not None else root_lang
    inherited_author = feed_author if doc.atom else ""

    entries: list[RawItem] = []
    for item in items:
        if item.get(_XML_BASE) is not None or item.get("base") is not None:
            raise _Unsure("xml:base on an entry")
        reader = _EntryReader(doc)
        # feedparser takes rdf:about as the id, verbatim, on any item.
        reader.entry.guid = item.get(_RDF_ABOUT) or ""
        reader.read(item)
        entry = reader.finish(_lang_attr(item, root_lang))
        entry.lang = entry.lang or feed_lang
        raw_item = _finish(entry, base=url, feed_author=inherited_author)
        if _worth_keeping(raw_item):
            entries.append(raw_item)
    return ParsedFeed(
        kind=kind,
        title=_feed_title(title, title_plain),
        items=tuple(entries),
        parser="fast",
    )


# ---------------------------------------------------------------------- feedparser

_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NULL_PATTERNS: Final = {
    b"\x00\x00\x00<": "utf-32-be",
    b"<\x00\x00\x00": "utf-32-le",
    b"\x00<\x00?": "utf-16-be",
    b"<\x00?\x00": "utf-16-le",
}
_DOCTYPE: Final = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_INTERNAL_SUBSET_END: Final = re.compile(r"\]\s*>")
_HTML_INSIDE: Final = re.compile(rb"<(?:html|body|div|p|table)[\s>]", re.I)


def _decode(content: bytes, content_type: str | None) -> tuple[str, list[str]]:
    """Decode an XML document: BOM, then HTTP charset, then XML declaration, then UTF-8.

    feedparser gets the result as UTF-8, so this is the one place that decides the
    encoding, and entity declarations can be looked for in the text it will parse.
    """
    candidates: list[str] = []
    for bom, name in _BOMS:
        if content.startswith(bom):
            candidates.append(name)
            break
    else:
        sniffed = _NULL_PATTERNS.get(content[:4])
        if sniffed:
            candidates.append(sniffed)
    header = _header_charset(content_type)
    if header:
        candidates.append(header)
    m = _XML_DECL_ENCODING.match(content, 3 if content.startswith(codecs.BOM_UTF8) else 0)
    if m:
        candidates.append(m.group(1).decode("ascii"))
    declared = candidates[0] if candidates else None
    for name in (*candidates, "utf-8-sig", "cp1252", "latin-1"):
        try:
            text = content.decode(name)
        except (UnicodeError, LookupError):
            continue
        notes = []
        if declared is not None and _codec(name) != _codec(declared):
            notes.append(f"encoding: declared {declared}, read as {name}")
        return text, notes
    raise AssertionError("latin-1 decodes any byte string")  # pragma: no cover


# Elements whose own <title>/<media:title> feedparser would take as the entry's title
# (an RSS <image> inside a <category>, a <media:title> inside an <enclosure>); the fast
# path reads only the entry's own title, and the output must not depend on the path.
# Tempered: never across an item or entry boundary, even in a malformed document.
_NESTED_IMAGE: Final = re.compile(
    r"<image\b[^>/]*>(?:(?!</?(?:item|entry)\b).)*?</image\s*>", re.S | re.I
)
_ENCLOSURE_BODY: Final = re.compile(
    r"<enclosure\b([^>]*[^>/])?>((?:(?!</?(?:item|entry)\b).)*?)</enclosure\s*>", re.S | re.I
)


def _hide_nested_titles(text: str) -> str:
    """``text`` without the nested titles above; newlines kept, so feedparser's error
    messages still name the right line."""
    if "<image" not in text and "<enclosure" not in text:
        return text

    def blank(m: re.Match[str]) -> str:
        return "\n" * m.group().count("\n")

    def empty_enclosure(m: re.Match[str]) -> str:
        return f"<enclosure{m.group(1) or ''}/>" + "\n" * m.group(2).count("\n")

    return _ENCLOSURE_BODY.sub(empty_enclosure, _NESTED_IMAGE.sub(blank, text))


def _defuse_dtd(text: str) -> tuple[str, str | None]:
    """Cut out a DOCTYPE that declares entities; refuse what cannot be cut cleanly."""
    if "<!ENTITY" not in text:
        return text, None
    doctypes = list(_DOCTYPE.finditer(text))
    if not doctypes:
        return text, None  # outside a DTD, "<!ENTITY" is just text (or an error)
    end = _INTERNAL_SUBSET_END.search(text, doctypes[0].end()) if len(doctypes) == 1 else None
    if end is None:
        raise SourceError("refusing a feed whose document type declaration cannot be removed")
    cut = text[doctypes[0].start() : end.end()]
    # Keep the line count so feedparser's error positions still point at the source.
    return (
        text[: doctypes[0].start()] + "\n" * cut.count("\n") + text[end.end() :],
        "entity declarations removed",
    )


def _bozo_message(exc: object) -> str:
    if isinstance(exc, SAXParseException):
        return f"malformed XML: {exc.getMessage()} at line {exc.getLineNumber()}"
    return f"malformed feed: {str(exc)[:200]}"


def _mapping(value: object) -> Mapping[str, Any]:
    # feedparser's FeedParserDict aliases keys on lookup ("updated_parsed" quietly
    # answers with "published_parsed", with a DeprecationWarning); read what it stored.
    if isinstance(value, dict):
        return dict(value)
    return value if isinstance(value, Mapping) else {}


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _fp_date(entry: Mapping[str, Any], key: str) -> datetime | None:
    parsed = entry.get(f"{key}_parsed")
    if _IMPOSSIBLE_ISO.match(_string(entry.get(key)).strip()):
        return None  # feedparser rolls "2026-13-45T99:99:99Z" over into 2027: unreadable
    if isinstance(parsed, time.struct_time):
        try:
            return datetime(*parsed[:6], tzinfo=UTC)
        except ValueError:
            pass
    return _parse_date(_string(entry.get(key)))


def _fp_first_author(container: Mapping[str, Any]) -> str:
    authors = container.get("authors")
    for person in authors if isinstance(authors, list) else ():
        detail = _mapping(person)
        name = _display_name(_string(detail.get("name")), _string(detail.get("email")))
        if name:
            return name
    return ""


def _fp_links(entry: Mapping[str, Any]) -> Iterator[str]:
    links = entry.get("links")
    for link in links if isinstance(links, list) else ():
        detail = _mapping(link)
        href = _string(detail.get("href"))
        rel = _string(detail.get("rel")) or "alternate"
        if href and rel == "alternate" and _is_html_type(_map_type(_string(detail.get("type")))):
            yield href


def _fp_entry(e: Mapping[str, Any], *, atom: bool) -> _Entry:
    title_detail = _mapping(e.get("title_detail"))
    summary_detail = _mapping(e.get("summary_detail"))
    contents = e.get("content")
    first_content = _mapping(contents[0]) if isinstance(contents, list) and contents else {}
    detail = title_detail or summary_detail or first_content
    return _Entry(
        guid=_string(e.get("id")),
        guid_is_link=e.get("guidislink") is True,
        link=next(_fp_links(e), ""),
        title=_string(e.get("title")),
        title_plain=atom and title_detail.get("type") == "text/plain",
        summary=_string(e.get("summary")),
        summary_plain=atom and summary_detail.get("type") == "text/plain",
        content=_string(first_content.get("value")),
        content_plain=atom and first_content.get("type") == "text/plain",
        author=_fp_first_author(e),
        published=_fp_date(e, "published"),
        updated=_fp_date(e, "updated"),
        lang=_string(e.get("language")) or _string(detail.get("language")) or None,
        views=_views(_mapping(e.get("media_statistics")).get("views")),
    )


def _parse_feedparser(content: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    """The lenient path: feedparser, fed defused UTF-8 through a byte stream."""
    text, notes = _decode(content, content_type)
    text, dtd_note = _defuse_dtd(text)
    if dtd_note:
        notes.append(dtd_note)
    text = _hide_nested_titles(text)
    if text.lstrip().startswith("<?xml"):
        text = text.lstrip()  # white space before the declaration is an XML error
    else:
        # Without a declaration feedparser adds one on a line of its own, which
        # would shift the line numbers in its error messages.
        text = "<?xml version='1.0' encoding='utf-8'?>" + text
    try:
        # A stream, never bytes or str: given those, feedparser may open a file or URL.
        # Sanitising and URI rewriting are skipped: we only keep plain text.
        parsed = feedparser.parse(
            io.BytesIO(text.encode("utf-8", "replace")),
            response_headers={"content-type": "application/xml; charset=utf-8"},
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # foreign code: contain whatever it throws
        raise SourceError(f"feed parser failed: {type(exc).__name__}: {exc}") from exc

    d = _mapping(parsed)
    version = _string(d.get("version"))
    raw_entries = d.get("entries")
    entries = [_mapping(e) for e in raw_entries] if isinstance(raw_entries, list) else []
    if not version and not entries:
        raise SourceError(_not_a_feed(content, content_type))
    if d.get("bozo"):
        notes.append(_bozo_message(d.get("bozo_exception")))

    feed = _mapping(d.get("feed"))
    atom = version.startswith("atom")
    feed_author = _fp_first_author(feed) if atom else ""
    feed_lang = _string(feed.get("language")) or None
    items = []
    for e in entries:
        entry = _fp_entry(e, atom=atom)
        entry.lang = entry.lang or feed_lang
        raw_item = _finish(entry, base=url, feed_author=feed_author)
        if _worth_keeping(raw_item):
            items.append(raw_item)
    title_detail = _mapping(feed.get("title_detail"))
    return ParsedFeed(
        kind=version or "unknown",
        title=_feed_title(
            _string(feed.get("title")), atom and title_detail.get("type") == "text/plain"
        ),
        items=tuple(items),
        parser="feedparser",
        bozo="; ".join(notes) or None,
    )


def _not_a_feed(content: bytes, content_type: str | None) -> str:
    if _HTML_INSIDE.search(content[:4096]):
        return "not a feed: got an HTML page"
    served = f" (served as {content_type})" if content_type else ""
    return f"not a feed: no RSS, Atom or JSON Feed found{served}"
