"""Plain web pages: each configured URL is one post, its main text read by sources.extract.

A source names one page (``url``) or several (``urls: [...]``). Each page becomes one
RawItem: external id and url = its canonical URL (``<link rel=canonical>``, else the
address after redirects), title, main text without navigation and boilerplate,
author, publication time and language from the page's metadata.

Incremental, per page, in the JSON cursor (``{"pages": {url: {...}}}``):

* a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the last answer):
  a 304 costs no download and yields nothing;
* a hash of the extracted title and text: a page whose text did not change (new ads,
  a new timestamp in a script, a rotated sidebar) yields nothing either. When the text
  did change, the page is returned again; the store keys posts by canonical URL, so a
  changed page is still one post and does not make a second mention of a brand it
  already mentioned (a brand it names for the first time is a new mention).

Changing ``selector`` or ``extractor`` forgets the cursor, so the new extraction
is applied at once rather than when the page next changes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, cast
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..config.model import SourceConfig
from ..errors import SourceError
from ..models import FetchResult, RawItem, SourceState
from . import http
from .base import SourceContext, register
from .common import dump_cursor, load_cursor, parse_time
from .extract import (
    Extractor,
    Page,
    Selector,
    decode_html,
    extract_page,
    parse_selector,
    plain_text_page,
    trafilatura_status,
)

EXTRACTORS: Final = ("auto", "builtin", "trafilatura")
# The built-in extractor is the default: on our fixtures it kept headlines and
# table-layout pages that trafilatura dropped or flattened, and it stays fast on
# pathological markup. trafilatura (pip install mentionwatch[web]) is opt-in.
DEFAULT_EXTRACTOR: Final = "builtin"
ACCEPT: Final = "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"
HTML_TYPES: Final = ("text/html", "application/xhtml+xml")
FEED_TYPES: Final = ("application/rss+xml", "application/atom+xml", "application/feed+json")
# Below this, extracting on the event loop is cheaper than a thread hand-off.
INLINE_PARSE_CHARS: Final = 256 * 1024


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _page_urls(config: SourceConfig) -> list[str]:
    """``url`` and then ``urls``, each once, in order."""
    urls = [config.url] if config.url else []
    extra = config.option("urls")
    if isinstance(extra, list):
        urls.extend(u.strip() for u in extra if isinstance(u, str))
    return list(dict.fromkeys(urls))


def _without_fragment(url: str) -> str:
    try:
        return urlunsplit(urlsplit(url)._replace(fragment=""))
    except ValueError:
        return url


def _looks_like_html(content: bytes) -> bool:
    head = content[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")) or (
        b"<html" in head or b"<body" in head or b"<p>" in head
    )


def _kind(content_type: str, content: bytes) -> str:
    """ "html" or "text", or a SourceError saying what the URL gave instead."""
    media = content_type.split(";", 1)[0].strip().lower()
    if content.startswith(b"%PDF-"):
        media = media or "application/pdf"
        raise SourceError(f"not a web page: the server sent a PDF ({media})")
    if b"\x00" in content[:1024] and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(f"not a web page: the server sent binary data ({media or 'no type'})")
    if media in HTML_TYPES:
        return "html"
    if media in FEED_TYPES or (media.endswith(("/xml", "+xml")) and not _looks_like_html(content)):
        raise SourceError(f"this is a feed or XML ({media}), not a web page: use `type: rss`")
    if media in ("", "application/octet-stream", "text/plain"):
        # Unlabelled, or labelled plain text by a lazy server: look at the bytes.
        return "html" if _looks_like_html(content) else "text"
    raise SourceError(
        f"not a web page: the server sent {media} (only HTML and plain-text pages are read)"
    )


def _fingerprint(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one page fared: an item (or not), its cursor entry, what to tell the user."""

    item: RawItem | None = None
    entry: Mapping[str, str] | None = None  # None: keep the previous entry
    unchanged: bool = False  # 304, or the same text as last time
    warning: str | None = None
    error: str | None = None


@register
class WebSource:
    type: ClassVar[str] = "web"
    options: ClassVar[tuple[str, ...]] = ("urls", "selector", "extractor")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        urls = config.option("urls")
        if urls is not None:
            if not isinstance(urls, list) or not urls:
                problems.append(("urls", "expected a list of page URLs"))
            else:
                bad = [u for u in urls if not _is_http_url(u)]
                if bad:
                    problems.append(
                        (
                            "urls",
                            f"invalid URL {bad[0]!r}: expected http:// or https:// with a host",
                        )
                    )
        elif not config.url:
            problems.append(("url", "missing: give `url` (one page) or `urls` (a list of pages)"))
        selector = config.option("selector")
        if selector is not None:
            if not isinstance(selector, str):
                problems.append(("selector", "expected a selector such as 'article' or '.post'"))
            else:
                try:
                    parse_selector(selector)
                except ValueError as exc:
                    problems.append(("selector", str(exc)))
        extractor = config.option("extractor", DEFAULT_EXTRACTOR)
        if extractor not in EXTRACTORS:
            problems.append(("extractor", f"expected one of {', '.join(EXTRACTORS)}"))
        elif extractor == "trafilatura":
            if selector is not None:
                problems.append(
                    (
                        "extractor",
                        "a selector is read by the built-in extractor: use auto or builtin",
                    )
                )
            else:
                available, reason = trafilatura_status()
                if not available:
                    problems.append(
                        (
                            "extractor",
                            f"trafilatura cannot be imported ({reason}): "
                            "pip install 'mentionwatch[web]'",
                        )
                    )
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        self.urls = _page_urls(config)
        if not self.urls:
            raise SourceError("web source without url or urls")
        self.settings = context.settings
        selector = config.option("selector")
        self.selector: Selector | None = parse_selector(selector) if selector else None
        self.extractor = cast(Extractor, config.option("extractor", DEFAULT_EXTRACTOR))
        # The cursor's hashes hold only for the extraction that made them.
        self.fingerprint = f"{self.extractor}|{selector or ''}"

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        cursor = load_cursor(state)
        pages: dict[str, Any] = {}
        if cursor.get("config") == self.fingerprint and isinstance(cursor.get("pages"), dict):
            pages = cursor["pages"]
        # Pages of one source usually share a host: a few at a time, not all at once.
        gate = asyncio.Semaphore(max(1, self.settings.concurrency_per_host))

        async def one(url: str) -> _Outcome:
            entry = pages.get(url)
            async with gate:
                try:
                    return await self._fetch_page(
                        client, url, entry if isinstance(entry, dict) else {}
                    )
                except SourceError as exc:
                    return _Outcome(error=str(exc))

        outcomes = await asyncio.gather(*(one(url) for url in self.urls))
        many = len(self.urls) > 1
        errors = [(u, o.error) for u, o in zip(self.urls, outcomes, strict=True) if o.error]
        if len(errors) == len(self.urls):
            if not many:
                raise SourceError(errors[0][1] or "failed")
            raise SourceError("every page failed: " + "; ".join(f"{u}: {e}" for u, e in errors))

        new_pages: dict[str, Any] = {}
        items: dict[str, RawItem] = {}
        warnings: list[str] = []
        for url, outcome in zip(self.urls, outcomes, strict=True):
            # Configured URLs only: a page removed from the config leaves the cursor.
            entry = outcome.entry if outcome.entry is not None else pages.get(url)
            if entry:
                new_pages[url] = dict(entry)
            if outcome.item is not None:
                # Two URLs with one canonical page (redirects, aliases) are one post.
                items.setdefault(outcome.item.external_id, outcome.item)
            for message in (outcome.warning, outcome.error):
                if message:
                    warnings.append(f"{url}: {message}" if many else message)
        new_state = SourceState(
            cursor=dump_cursor({"config": self.fingerprint, "pages": new_pages})
        )
        return FetchResult(
            items=tuple(items.values()),
            state=new_state,
            # Nothing new anywhere (every page 304 or the same text): say so.
            not_modified=all(o.unchanged for o in outcomes),
            warnings=tuple(warnings),
        )

    async def _fetch_page(
        self, client: httpx.AsyncClient, url: str, entry: Mapping[str, Any]
    ) -> _Outcome:
        headers = {"Accept": ACCEPT}
        if isinstance(entry.get("etag"), str):
            headers["If-None-Match"] = entry["etag"]
        if isinstance(entry.get("last_modified"), str):
            headers["If-Modified-Since"] = entry["last_modified"]
        resp = await http.get(client, url, self.settings, headers=headers)
        if resp.status == 304:
            return _Outcome(unchanged=True)
        if resp.status != 200:
            raise http.status_error(resp)
        kind = _kind(resp.content_type, resp.content)
        doc = decode_html(resp.content, resp.content_type)
        if kind == "text":
            page = plain_text_page(doc)
        elif len(doc) <= INLINE_PARSE_CHARS and self._builtin_only():
            page = self._extract(doc, resp.url)
        else:
            # Megabytes of markup, or trafilatura (lxml plus heuristics): seconds at
            # worst, during which other downloads should keep moving.
            page = await asyncio.to_thread(self._extract, doc, resp.url)

        new_entry = {
            k: v
            for k, v in (
                ("etag", resp.headers.get("etag")),
                ("last_modified", resp.headers.get("last-modified")),
            )
            if v
        }
        warning = "; ".join(page.warnings) or None
        if not page.text:
            return _Outcome(
                entry=new_entry,
                warning=warning
                or "no text found on the page (empty, or rendered by JavaScript?): nothing to read",
            )
        digest = _fingerprint(page.title, page.text)
        new_entry["hash"] = digest
        if entry.get("hash") == digest:
            return _Outcome(entry=new_entry, unchanged=True, warning=warning)
        canonical = page.canonical_url or _without_fragment(resp.url)
        published = next((t for t in map(parse_time, page.dates) if t is not None), None)
        item = RawItem(
            external_id=canonical,
            url=canonical,
            title=page.title,
            text=page.text,
            author=page.author,
            published=published,
            lang=page.lang,
        )
        return _Outcome(item=item, entry=new_entry, warning=warning)

    def _builtin_only(self) -> bool:
        # "auto" may mean trafilatura, whose first import alone takes a second: that
        # too belongs in a thread, not on the event loop.
        return self.selector is not None or self.extractor == "builtin"

    def _extract(self, doc: str, url: str) -> Page:
        return extract_page(doc, url, selector=self.selector, extractor=self.extractor)
