"""Read one HTML page: its main text (navigation and boilerplate dropped) and its metadata.

The built-in extractor needs only the standard library. One linear scan over the tags
(a ``str.find`` for each ``<`` and an anchored regular expression, in the style of
:mod:`mentionwatch.textutil`) tracks the open elements on a stack and records spans:

* what to drop: scripts, styles and other raw-text elements, ``nav``, ``aside``,
  ``footer``, ``form``, ``button``, ``svg``..., a ``header`` that is not inside an
  article, main or section (that one is the site banner; inside an article it is the
  headline and byline), and elements whose class, id, role or hidden state mark them
  as boilerplate (menus, sidebars, cookie banners, breadcrumbs, share bars, comments,
  ads...);
* where the content is: ``article``, ``main`` / ``[role=main]``, ``body``, or what a
  user ``selector`` names.

The text of the chosen region, minus the dropped spans inside it, then goes through
:func:`textutil.html_to_text`, which keeps headings and paragraphs on their own lines.
Nothing here can backtrack or go quadratic: unknown end tags are ignored in O(1), the
stack pops each element once, and the input is capped first.

Optionally, ``trafilatura`` (``pip install 'mentionwatch[web]'``) extracts the text
instead; the metadata always comes from the scan above (trafilatura keeps only the
date of publication, not its time).
"""

from __future__ import annotations

import bisect
import codecs
import functools
import html
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..errors import SourceError
from ..textutil import html_to_text, normalize_space

__all__ = [
    "MAX_HTML_CHARS",
    "MAX_TEXT_CHARS",
    "NOT_INSTALLED",
    "Extractor",
    "Page",
    "Selector",
    "decode_html",
    "extract_page",
    "parse_selector",
    "plain_text_page",
    "trafilatura_status",
]

Extractor = Literal["auto", "builtin", "trafilatura"]

# The HTTP layer already caps bodies (5 MB by default); this bounds the work even when
# that cap is raised. What a reader would call "the article" is far shorter.
MAX_HTML_CHARS: Final = 5_000_000
# A post longer than this is not an article but a dump; the matcher and the sentiment
# scorer gain nothing from more, the database would.
MAX_TEXT_CHARS: Final = 100_000


@dataclass(frozen=True, slots=True)
class Page:
    """What a page says, as plain untrusted text."""

    title: str
    text: str  # main text, one block (heading, paragraph, list item) a line
    canonical_url: str | None  # from <link rel=canonical>, absolute http(s), no fragment
    author: str = ""
    lang: str | None = None  # primary language subtag, lower case ("en-GB" -> "en")
    # Publication time candidates as the page writes them, most trusted first:
    # article:published_time, JSON-LD datePublished, microdata, <time datetime>.
    dates: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- decoding

_META_CHARSET: Final = re.compile(
    rb"""<meta\b[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_HEADER_CHARSET: Final = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
# What browsers really use for these labels (WHATWG Encoding): pages labelled Latin-1
# are nearly always Windows-1252, curly quotes and all.
_LABEL_ALIASES: Final = {"iso-8859-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _LABEL_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _LABEL_ALIASES.get(name, name)


def decode_html(content: bytes, content_type: str = "") -> str:
    """Bytes to text: BOM, then the HTTP charset, then ``<meta charset>``, then UTF-8
    (Windows-1252 when that fails). Never raises: undecodable bytes become U+FFFD."""
    for bom, bom_codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if content.startswith(bom):
            return content.decode(bom_codec, errors="replace").lstrip("\ufeff")
    header = _HEADER_CHARSET.search(content_type)
    if codec := _codec(header.group(1) if header else None):
        return content.decode(codec, errors="replace")
    meta = _META_CHARSET.search(content[:4096])
    codec = _codec(meta.group(1).decode("ascii") if meta else None)
    # A page whose <meta> we could read in ASCII is not UTF-16, whatever it claims.
    if codec and not codec.startswith("utf-16"):
        return content.decode(codec, errors="replace")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


# --------------------------------------------------------------------------- selectors


@dataclass(frozen=True, slots=True)
class _Simple:
    tag: str | None
    id: str | None
    classes: frozenset[str]

    def matches(self, tag: str, attrs: Mapping[str, str]) -> bool:
        if self.tag is not None and self.tag != tag:
            return False
        if self.id is not None and attrs.get("id") != self.id:
            return False
        return not self.classes or self.classes <= set(attrs.get("class", "").split())


@dataclass(frozen=True, slots=True)
class Selector:
    """A comma-separated list of ``tag``, ``#id``, ``.class`` and compounds of them
    (``div.post-body``, ``article#main.story``): no descendants, no attributes."""

    alternatives: tuple[_Simple, ...]
    text: str

    def matches(self, tag: str, attrs: Mapping[str, str]) -> bool:
        return any(s.matches(tag, attrs) for s in self.alternatives)


_SIMPLE_SELECTOR: Final = re.compile(r"([A-Za-z][A-Za-z0-9-]*)?((?:[#.][A-Za-z0-9_-]+)*)")


def parse_selector(text: str) -> Selector:
    """Parse the small selector language; ValueError says what is not supported."""
    alternatives = []
    for part in text.split(","):
        part = part.strip()
        m = _SIMPLE_SELECTOR.fullmatch(part)
        if not part or m is None or not (m.group(1) or m.group(2)):
            raise ValueError(
                f"unsupported selector {part or text!r}: use tag, #id, .class or a compound "
                "such as div.post-body (several separated by commas)"
            )
        pieces = re.findall(r"[#.][A-Za-z0-9_-]+", m.group(2))
        ids = [p[1:] for p in pieces if p[0] == "#"]
        if len(ids) > 1:
            raise ValueError(f"unsupported selector {part!r}: more than one #id")
        tag = m.group(1).lower() if m.group(1) else None
        classes = frozenset(p[1:] for p in pieces if p[0] == ".")
        alternatives.append(_Simple(tag, ids[0] if ids else None, classes))
    return Selector(tuple(alternatives), text)


# --------------------------------------------------------------------------- the scan

# A tag: its name, then what textutil calls _ATTRS (quotes count only after "=", so a
# stray apostrophe cannot swallow the document; possessive, so nothing backtracks).
_TAG: Final = re.compile(
    r"""<(/?)([A-Za-z][^\s/>]*+)((?:[^>"'=]++|=\s*+"[^"]*+"?|=\s*+'[^']*+'?|[="'])*+(?:>|\Z))"""
)
_ATTR: Final = re.compile(r"""([^\s"'>/=]++)(?:\s*+=\s*+(?:"([^"]*+)"?|'([^']*+)'?|([^\s>]++)))?""")
_COMMENT_END: Final = re.compile(r"--!?>")


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_VOID: Final = _names("area base br col embed hr img input keygen link meta param source track wbr")
# Their content is text up to the matching end tag, never markup (or, for noscript,
# markup a browser with scripts on never shows). All of it is dropped.
_RAW_TEXT: Final = _names("script style title textarea xmp iframe noembed noframes noscript")
_RAW_END: Final = {name: re.compile(rf"</{name}(?=[\s/>]|\Z)", re.I) for name in _RAW_TEXT}
# Never part of the text, whatever their attributes say.
_DROP_TAGS: Final = _names(
    "nav aside footer form button select option datalist dialog menu template svg math "
    "canvas audio video object map"
)
# A <header> inside one of these is that section's heading, not the site banner (ARIA).
_SECTIONING: Final = ("article", "main", "section", "aside", "nav")
_DROP_ROLES: Final = _names(
    "navigation banner contentinfo complementary search menu menubar toolbar dialog "
    "alertdialog tablist"
)
# Words in a class name or id that mark boilerplate...
_BOILERPLATE_WORDS: Final = _names(
    """
    nav navbar navigation menu menubar megamenu breadcrumb breadcrumbs pagination pager
    header masthead topbar toolbar banner branding logo footer sidebar skip skiplink
    cookie cookies consent gdpr popup modal overlay newsletter subscribe subscription signup
    comment comments disqus respond share sharing sharebar social related paywall promo
    ad ads advert adverts advertisement sponsored
    """
)
# ...unless the same name also says it is the content's own part or a layout state:
# "article-header" is a headline, "has-sidebar" a page with one.
_CONTENT_WORDS: Final = _names("article entry post story has with no without")
_WORD_SPLIT: Final = re.compile(r"[^a-z0-9]+")
_CAMEL: Final = re.compile(r"([a-z0-9])([A-Z])")
_HIDDEN_STYLE: Final = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

# What replaces a dropped element in the text: nothing for invisible ones, a space
# for inline ones (words must not glue), a line break for the rest (blocks).
_INVISIBLE_TAGS: Final = _names("script style title template noscript")
_INLINE_TAGS: Final = _names(
    "a abbr b button cite code em i iframe img input label q s select small span strong "
    "sub sup svg textarea time u math canvas audio video object map"
)

_METADATA_TAGS: Final = _names("meta link base html time")

_HARD, _SOFT, _ARTICLE, _MAIN, _SELECTED, _BODY, _H1 = 1, 2, 4, 8, 16, 32, 64
_DROP = _HARD | _SOFT
_MAX_RECORDS: Final = 500  # metas, times, JSON-LD blocks... kept per page


@functools.lru_cache(maxsize=4096)  # pages repeat their class names endlessly
def _is_boilerplate_name(value: str) -> bool:
    words = _WORD_SPLIT.split(_CAMEL.sub(r"\1 \2", value).lower())
    return not _BOILERPLATE_WORDS.isdisjoint(words) and _CONTENT_WORDS.isdisjoint(words)


def _attributes(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(raw):
        name = m.group(1).lower()
        if name in out:
            continue  # the first one wins, as in a browser
        value = next((g for g in m.group(2, 3, 4) if g is not None), "")
        out[name] = html.unescape(value) if "&" in value else value
    return out


def _separator(name: str) -> str:
    if name in _INVISIBLE_TAGS:
        return ""
    return " " if name in _INLINE_TAGS else "<br>"


@dataclass(slots=True)
class _Open:
    name: str
    start: int
    flags: int


@dataclass(slots=True)
class _Scan:
    """Everything the single pass over the tags records."""

    drops: list[tuple[int, int, int, str]] = field(default_factory=list)  # start, end, flag, sep
    articles: list[tuple[int, int]] = field(default_factory=list)
    mains: list[tuple[int, int]] = field(default_factory=list)
    selected: list[tuple[int, int]] = field(default_factory=list)
    h1s: list[tuple[int, int]] = field(default_factory=list)
    body: tuple[int, int] | None = None
    times: list[tuple[int, str]] = field(default_factory=list)  # position, datetime
    microdata_dates: list[str] = field(default_factory=list)
    metas: dict[str, str] = field(default_factory=dict)
    canonical: str | None = None
    base: str | None = None
    html_lang: str | None = None
    title: str | None = None
    jsonld: list[str] = field(default_factory=list)


class _Scanner:
    def __init__(self, doc: str, selector: Selector | None) -> None:
        self.doc = doc
        self.selector = selector
        self.out = _Scan()
        self.stack: list[_Open] = []
        self.open_count: dict[str, int] = {}

    def run(self) -> _Scan:
        doc, n = self.doc, len(self.doc)
        find, tag_at = doc.find, _TAG.match
        pos = 0
        while (lt := find("<", pos)) >= 0:
            nxt = doc[lt + 1 : lt + 2]
            if nxt == "!" or nxt == "?":
                if doc.startswith("<!--", lt):
                    end = _COMMENT_END.search(doc, lt + 4)
                    pos = end.end() if end else n
                else:  # <!DOCTYPE ...>, <![CDATA[ ...]]>, <?xml ...?>
                    gt = find(">", lt + 2)
                    pos = gt + 1 if gt >= 0 else n
                continue
            m = tag_at(doc, lt)
            if m is None:
                pos = lt + 1  # "a < b" is text
                continue
            pos = m.end()
            name = m.group(2).lower()
            if m.group(1):
                self._close(name, lt, pos)
            else:
                pos = self._open(name, m.group(3), lt, pos)
        while self.stack:
            self._finish(self.stack.pop(), n)
        return self.out

    def _close(self, name: str, tag_start: int, tag_end: int) -> None:
        # An end tag for nothing open is ignored in O(1); otherwise pop up to its
        # element: what it closes implicitly (an unclosed <p>) ends where it starts.
        if not self.open_count.get(name):
            return
        while self.stack:
            element = self.stack.pop()
            self.open_count[element.name] -= 1
            if element.name == name:
                self._finish(element, tag_end)
                return
            self._finish(element, tag_start)

    def _finish(self, element: _Open, end: int) -> None:
        flags = element.flags
        if not flags:
            return
        span = (element.start, end)
        out = self.out
        if flags & _DROP:
            out.drops.append((*span, flags & _DROP, _separator(element.name)))
        if flags & _ARTICLE:
            out.articles.append(span)
        if flags & _MAIN:
            out.mains.append(span)
        if flags & _SELECTED:
            out.selected.append(span)
        if flags & _BODY:
            out.body = span
        if flags & _H1 and len(out.h1s) < _MAX_RECORDS:
            out.h1s.append(span)

    def _open(self, name: str, raw_attrs: str, start: int, pos: int) -> int:
        """Handle a start tag; return where scanning resumes."""
        out = self.out
        attrs = _attributes(raw_attrs) if len(raw_attrs) > 2 else {}
        if name in _RAW_TEXT:
            end_tag = _RAW_END[name].search(self.doc, pos)
            content_end = end_tag.start() if end_tag else len(self.doc)
            gt = self.doc.find(">", content_end) if end_tag else -1
            end = gt + 1 if gt >= 0 else len(self.doc)
            if name == "title" and out.title is None and not self.open_count.get("svg"):
                out.title = self.doc[pos:content_end]
            elif (
                name == "script"
                and "ld+json" in attrs.get("type", "").lower()
                and len(out.jsonld) < _MAX_RECORDS
            ):
                out.jsonld.append(self.doc[pos:content_end])
            out.drops.append((start, end, _HARD, _separator(name)))
            return end
        if attrs and (name in _METADATA_TAGS or "itemprop" in attrs):
            self._metadata(name, attrs, start)
        if name in _VOID or raw_attrs.endswith("/>"):
            return pos
        flags = 0
        if name in _DROP_TAGS or (
            name == "header" and not any(self.open_count.get(s) for s in _SECTIONING)
        ):
            flags |= _HARD
        if name == "article":
            flags |= _ARTICLE
        elif name == "main" or attrs.get("role", "").strip().lower() == "main":
            flags |= _MAIN
        # What says it is the content is never boilerplate by its classes.
        content = flags & (_ARTICLE | _MAIN) or name in ("html", "body")
        if attrs and not content and _soft_drop(attrs):
            flags |= _SOFT
        if name == "body" and out.body is None and not self.open_count.get("body"):
            flags |= _BODY
        elif name == "h1":
            flags |= _H1
        if self.selector is not None and self.selector.matches(name, attrs):
            flags |= _SELECTED
        self.stack.append(_Open(name, start, flags))
        self.open_count[name] = self.open_count.get(name, 0) + 1
        return pos

    def _metadata(self, name: str, attrs: dict[str, str], start: int) -> None:
        out = self.out
        if name == "meta":
            key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or ""
            key = key.strip().lower()
            content = attrs.get("content")
            if content is not None and key and len(out.metas) < _MAX_RECORDS:
                out.metas.setdefault(key, content)
        elif name == "link":
            rel = attrs.get("rel", "").lower().split()
            if "canonical" in rel and out.canonical is None and attrs.get("href"):
                out.canonical = attrs["href"]
        elif name == "base":
            if out.base is None and attrs.get("href"):
                out.base = attrs["href"]
        elif name == "html" and out.html_lang is None and attrs.get("lang"):
            out.html_lang = attrs["lang"]
        if name == "time" and "datetime" in attrs and len(out.times) < _MAX_RECORDS:
            out.times.append((start, attrs["datetime"]))
        if attrs.get("itemprop", "").strip() == "datePublished":
            value = attrs.get("datetime") or attrs.get("content")
            if value and len(out.microdata_dates) < _MAX_RECORDS:
                out.microdata_dates.append(value)


def _soft_drop(attrs: Mapping[str, str]) -> bool:
    """Do the attributes mark the element as boilerplate or hidden?"""
    if "hidden" in attrs or attrs.get("aria-hidden", "").strip().lower() == "true":
        return True
    style = attrs.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    role = attrs.get("role")
    if role and role.strip().lower() in _DROP_ROLES:
        return True
    names = attrs.get("class", "").split()
    if "id" in attrs:
        names.append(attrs["id"])
    return any(_is_boilerplate_name(n) for n in names)


# --------------------------------------------------------------------------- regions


class _Spans:
    """Disjoint, sorted spans: is a position inside one?"""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end in sorted(spans):
            if self.ends and start < self.ends[-1]:
                continue  # nested in the previous one
            self.starts.append(start)
            self.ends.append(end)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self.starts, self.ends, strict=True)

    def __len__(self) -> int:
        return len(self.starts)

    def covers(self, pos: int) -> bool:
        i = bisect.bisect_right(self.starts, pos) - 1
        return i >= 0 and pos < self.ends[i]


def _outermost(spans: Iterable[tuple[int, int]], drops: _Spans) -> _Spans:
    return _Spans(s for s in spans if not drops.covers(s[0]))


def _choose_regions(scan: _Scan, drops: _Spans, doc_len: int) -> _Spans:
    """Where the content is: one article; else main; else several articles; else body."""
    articles = _outermost(scan.articles, drops)
    if len(articles) == 1:
        return articles
    mains = _outermost(scan.mains, drops)
    if mains:
        return _Spans([next(iter(mains))])
    if articles:
        return articles  # a list of posts: keep them all
    return _Spans([scan.body or (0, doc_len)])


def _region_text(
    doc: str, regions: _Spans, drops: list[tuple[int, int, int, str]]
) -> tuple[str, _Spans]:
    """The text of the regions without the dropped spans inside them (and those spans)."""
    parts: list[str] = []
    applied: list[tuple[int, int]] = []
    starts = [d[0] for d in drops]
    for start, end in regions:
        cursor = start
        # Spans inside the region; neither those enclosing it nor the region's own
        # element count (a user may select an element that is boilerplate, or one
        # inside boilerplate).
        i = bisect.bisect_left(starts, start)
        while i < len(drops) and drops[i][0] < end:
            s, e, _, sep = drops[i]
            i += 1
            if s < cursor or e > end or (s == start and e == end):
                continue  # nested in a span already dropped, or the region itself
            parts.append(doc[cursor:s])
            parts.append(sep)
            applied.append((s, e))
            cursor = e
        parts.append(doc[cursor:end])
        parts.append("<br>")
    text = html_to_text("".join(parts), max_chars=MAX_HTML_CHARS)
    return text, _Spans(applied)


def _in_text(pos: int, regions: _Spans, applied: _Spans) -> bool:
    """Is ``pos`` in what the text was read from (a region, not a dropped span)?"""
    return regions.covers(pos) and not applied.covers(pos)


# --------------------------------------------------------------------------- metadata

_ARTICLE_TYPE: Final = re.compile(r"(article|posting|report|review)$", re.I)
_LANG_TAG: Final = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
_TITLE_SEPARATORS: Final = ("|", "-", "\u2013", "\u2014", "\u00b7", ":", "\u00bb", "/")
_MAX_JSONLD_CHARS: Final = 1_000_000
_MAX_AUTHOR_CHARS: Final = 200
_MAX_TITLE_CHARS: Final = 1000
_MAX_DATE_CHARS: Final = 64  # "2026-11-20T09:15:00.000000+01:00" and friends


def _one_line(value: str | None, *, unescape: bool = False) -> str:
    """One tidy line. Attribute values arrive decoded already; JSON-LD strings do not
    (CMSes write "&amp;" into them), hence ``unescape``."""
    if not value:
        return ""
    if unescape and "&" in value:
        value = html.unescape(value)
    return " ".join(normalize_space(value).split())


def _looks_like_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "//", "/"))


def _language(tag: str | None) -> str | None:
    if not tag:
        return None
    m = _LANG_TAG.fullmatch(tag.strip())
    return m.group(1).lower() if m else None


def _http_url(href: str | None, base: str) -> str | None:
    """``href`` resolved against ``base``: absolute http(s) without fragment, or None."""
    if not href:
        return None
    try:
        resolved = urljoin(base, href.strip())
        parts = urlsplit(resolved)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit(parts._replace(fragment=""))


def _jsonld_nodes(blocks: Iterable[str]) -> list[dict[str, Any]]:
    """The objects of the JSON-LD blocks: top level, lists and @graph; never raises."""
    nodes: list[dict[str, Any]] = []
    for block in blocks:
        body = block.strip()
        # Old CMSes wrap the JSON in HTML comment or CDATA markers.
        for opener, closer in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>")):
            if body.startswith(opener) and body.endswith(closer):
                body = body[len(opener) : -len(closer)].strip()
        if not body or len(body) > _MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # deeply nested junk hits the recursion limit
            continue
        queue = data if isinstance(data, list) else [data]
        for value in queue[:_MAX_RECORDS]:
            if not isinstance(value, dict):
                continue
            nodes.append(value)
            graph = value.get("@graph")
            if isinstance(graph, list):
                nodes.extend(v for v in graph[:_MAX_RECORDS] if isinstance(v, dict))
    return nodes[:_MAX_RECORDS]


def _types(node: Mapping[str, Any]) -> list[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str)]


def _jsonld_names(value: Any, index: Mapping[str, dict[str, Any]], depth: int = 0) -> list[str]:
    """Author names from a string, a Person/Organization, an @id reference or a list."""
    if depth > 3:  # a list of lists of references... is junk, and must not recurse away
        return []
    if isinstance(value, str):
        return [] if _looks_like_url(value) else [value]
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str):
            return [name]
        ref = value.get("@id")
        if isinstance(ref, str) and ref in index:
            return _jsonld_names(index[ref], index, depth + 1)
        return []
    if isinstance(value, list):
        return [n for v in value[:20] for n in _jsonld_names(v, index, depth + 1)]
    return []


@dataclass(frozen=True, slots=True)
class _JsonLd:
    published: str | None = None
    headline: str | None = None
    authors: tuple[str, ...] = ()


def _read_jsonld(blocks: Iterable[str]) -> _JsonLd:
    nodes = _jsonld_nodes(blocks)
    if not nodes:
        return _JsonLd()
    index = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    # Articles first (NewsArticle, BlogPosting...); then anything else (WebPage...).
    articles = [n for n in nodes if any(_ARTICLE_TYPE.search(t) for t in _types(n))]
    chosen = {id(n) for n in articles}
    ranked = articles + [n for n in nodes if id(n) not in chosen]

    def first_str(key: str) -> str | None:
        for node in ranked:
            value = node.get(key)
            if isinstance(value, str) and value.strip():
                return value
        return None

    authors: list[str] = []
    for node in ranked:
        authors = _jsonld_names(node.get("author"), index)
        if authors:
            break
    return _JsonLd(first_str("datePublished"), first_str("headline"), tuple(authors))


def _strip_site_name(title: str, site: str) -> str:
    """ "Story | Site" -> "Story" when the site's name is known; otherwise unchanged."""
    if not site or not title.endswith(site):
        return title
    head = title[: -len(site)].rstrip()
    if head[-1:] in _TITLE_SEPARATORS and head[:-1].strip():
        return head[:-1].rstrip()
    return title


# --------------------------------------------------------------------------- trafilatura


NOT_INSTALLED: Final = "not installed"


@functools.cache
def _load_trafilatura() -> tuple[ModuleType | None, str]:
    """The trafilatura module, or None and why not: NOT_INSTALLED, or the import error
    of an installation that is broken (lxml_html_clean missing: see SOURCES.md)."""
    try:
        import trafilatura  # optional, and slow to import: only on first use
    except ImportError as exc:
        return None, NOT_INSTALLED if exc.name == "trafilatura" else str(exc)
    # Its warnings ("discarding data", "not enough text") would reach stderr through
    # logging's last-resort handler on every page: only real errors matter to us.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    return trafilatura, ""


def trafilatura_status() -> tuple[bool, str]:
    """(True, "") when trafilatura can be used, else (False, the reason)."""
    module, reason = _load_trafilatura()
    return module is not None, reason


def _trafilatura_text(doc: str, url: str) -> str | None:
    module, reason = _load_trafilatura()
    if module is None:
        raise SourceError(
            f"extractor trafilatura is not available ({reason}): "
            "pip install 'mentionwatch[web]' (trafilatura and lxml_html_clean)"
        )
    text = module.extract(doc, url=url, include_comments=False, favor_precision=True)
    return text if isinstance(text, str) else None


# --------------------------------------------------------------------------- the job


def _cap(text: str, warnings: list[str]) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    warnings.append(f"text cut to {MAX_TEXT_CHARS:,} characters")
    # At a line break near the limit, else between words near it, else right there.
    near = MAX_TEXT_CHARS * 9 // 10
    cut = text.rfind("\n", near, MAX_TEXT_CHARS)
    if cut < 0:
        cut = text.rfind(" ", near, MAX_TEXT_CHARS)
    return text[: cut if cut > 0 else MAX_TEXT_CHARS].rstrip()


def plain_text_page(doc: str) -> Page:
    """A text/plain page: all of it is the text (tidied and capped), no metadata."""
    warnings: list[str] = []
    text = _cap(normalize_space(doc[:MAX_HTML_CHARS]), warnings)
    return Page(title="", text=text, canonical_url=None, warnings=tuple(warnings))


def extract_page(
    doc: str,
    url: str,
    *,
    selector: Selector | None = None,
    extractor: Extractor = "builtin",
) -> Page:
    """Main text and metadata of an HTML page fetched from ``url`` (after redirects).

    With a ``selector`` only the elements it matches are read (boilerplate inside them
    is still dropped); none matching gives an empty text and a warning. ``extractor``
    ``trafilatura`` uses it for the text (falling back to the built-in extractor when
    it finds nothing); ``auto`` uses it when it is installed and there is no selector.
    """
    if len(doc) > MAX_HTML_CHARS:
        doc = doc[:MAX_HTML_CHARS]
    warnings: list[str] = []
    scan = _Scanner(doc, selector).run()
    scan.drops.sort()
    all_drops = _Spans((s, e) for s, e, _, _ in scan.drops)

    if selector is not None:
        regions = _Spans(scan.selected)
        if not regions:
            warnings.append(f"selector {selector.text!r} matched nothing on the page")
        text, applied = _region_text(doc, regions, scan.drops)
    else:
        regions = _choose_regions(scan, all_drops, len(doc))
        text, applied = _region_text(doc, regions, scan.drops)
        if not text:
            # A layout class misread as boilerplate ("sidebar-layout" around it all)
            # must not blank the page: try again trusting only the tag names.
            hard = [d for d in scan.drops if d[2] & _HARD]
            regions = _choose_regions(scan, _Spans((s, e) for s, e, _, _ in hard), len(doc))
            text, applied = _region_text(doc, regions, hard)

    # A selection is the user's say on where the text is: no second opinion on it.
    use_trafilatura = selector is None and extractor == "trafilatura"
    if selector is None and extractor == "auto":
        use_trafilatura, reason = trafilatura_status()
        if reason and reason != NOT_INSTALLED:
            # Installed on purpose but unusable: say so rather than quietly do worse.
            warnings.append(f"trafilatura cannot be imported ({reason}); used built-in")
    if use_trafilatura:
        try:
            better = _trafilatura_text(doc, url)
        except SourceError:
            raise
        except Exception as exc:  # third-party code on hostile input: keep our own text
            warnings.append(f"trafilatura failed ({type(exc).__name__}: {exc}); used built-in")
            better = None
        if better and (tidy := normalize_space(better)):
            text = tidy

    base = _http_url(scan.base, url) or url
    metas = scan.metas
    jsonld = _read_jsonld(scan.jsonld)
    site = _one_line(metas.get("og:site_name") or metas.get("application-name"))
    h1 = next((h for h in scan.h1s if _in_text(h[0], regions, applied)), None)
    title = (
        _one_line(metas.get("og:title") or metas.get("twitter:title"))
        or _one_line(jsonld.headline, unescape=True)
        or _strip_site_name(_one_line(html_to_text(scan.title or "")), site)
        or (" ".join(html_to_text(doc[h1[0] : h1[1]]).split()) if h1 else "")
    )[:_MAX_TITLE_CHARS]

    # article:author is often a profile URL, which is no name.
    named = [_one_line(metas.get("author")), _one_line(metas.get("article:author"))]
    named = [n for n in named if n and not _looks_like_url(n)]
    from_jsonld = (_one_line(a, unescape=True) for a in jsonld.authors)
    author = named[0] if named else ", ".join(dict.fromkeys(a for a in from_jsonld if a))
    author = author[:_MAX_AUTHOR_CHARS]

    time_in_text = next((t for p, t in scan.times if _in_text(p, regions, applied)), None)
    dates = tuple(
        d.strip()
        for d in (
            metas.get("article:published_time"),
            jsonld.published,
            *scan.microdata_dates[:1],
            time_in_text,
        )
        if d and d.strip() and len(d) <= _MAX_DATE_CHARS
    )
    return Page(
        title=title,
        text=_cap(text, warnings),
        canonical_url=_http_url(scan.canonical, base),
        author=author,
        lang=_language(scan.html_lang) or _language(metas.get("og:locale")),
        dates=dates,
        warnings=tuple(warnings),
    )
