"""Conditional GET of the several feeds one source polls, plus a safe second reading of
their XML: what the feed-based adapters (googlenews, bingnews, youtube) share.

Those adapters ask one URL per search term (or per channel/playlist), so the
ETag/Last-Modified validators that the rss adapter keeps in ``SourceState`` live here
per URL, in the JSON cursor: ``{"<url>": {"etag": "...", "last_modified": "..."}}``.
Only the URLs asked for in a scan are kept, so a keyword dropped from the config
does not leave its validators behind for ever.

``mentionwatch.sources.feeds.parse_feed`` makes the RawItems; it does not keep elements that
only these services use (Google's ``<source>``, Bing's ``News:Source``, YouTube's
``media:starRating``), so each document is also read once with ElementTree, which
the adapters query by item id. That reading refuses a DOCTYPE (no DTD, so nothing
can be declared, expanded or fetched) and gives up on UTF-16/32, where the DOCTYPE
check on raw bytes would be blind; the adapter then does without the extras.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from ..config.model import Settings
from ..errors import SourceError
from ..models import FetchResult, RawItem, SourceState
from ..textutil import normalize_space
from . import http
from .common import dump_cursor, load_cursor
from .feeds import ParsedFeed, parse_feed

__all__ = ["FeedPage", "Hint", "Polled", "element_text", "local_name", "poll_feeds"]

#: Statuses these services use for "slow down": asking the next term would only
#: dig the hole deeper, so they stop the whole fetch.
THROTTLE_STATUSES: Final = frozenset({429, 503})
#: Bodies up to this size are parsed inline (about a millisecond); bigger ones in a
#: thread so other sources keep downloading meanwhile.
INLINE_PARSE_BYTES: Final = 256 * 1024
ACCEPT: Final = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)

_DOCTYPE: Final = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_HTML_PAGE: Final = re.compile(
    rb"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])",
    re.IGNORECASE | re.DOTALL,
)

#: Advice appended to an error, by HTTP status; ``None`` stands for "an HTML page
#: came back where the feed was expected". Return "" for no advice.
Hint = Callable[[int | None], str]


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One feed that answered 200: the requested URL, its items, its XML tree."""

    url: str
    feed: ParsedFeed
    root: ET.Element | None  # None: not plain well-formed XML (see the module docstring)


@dataclass(frozen=True, slots=True)
class Polled:
    """What a round of conditional GETs gave."""

    pages: tuple[FeedPage, ...]  # the feeds that changed
    cursor: str
    warnings: tuple[str, ...]
    not_modified: bool  # every feed answered 304

    def result(self, items: Iterable[RawItem]) -> FetchResult:
        """The FetchResult for ``items``, each external id once (the first wins)."""
        unique: dict[str, RawItem] = {}
        for item in items:
            unique.setdefault(item.external_id, item)
        return FetchResult(
            items=tuple(unique.values()),
            state=SourceState(cursor=self.cursor),
            not_modified=self.not_modified,
            warnings=self.warnings,
        )


class _FeedFailed(SourceError):
    """One feed could not be read. ``throttled``: the service asked us to slow down,
    so no further request is made in this fetch."""

    def __init__(self, label: str, problem: str, advice: str, *, throttled: bool = False):
        super().__init__(_with_hint(f"{label}: {problem}", advice))
        self.label = label
        self.problem = problem
        self.advice = advice
        self.throttled = throttled


async def poll_feeds(
    client: httpx.AsyncClient,
    settings: Settings,
    state: SourceState,
    feeds: Sequence[tuple[str, str]],
    *,
    hint: Hint,
) -> Polled:
    """GET each ``(label, url)`` with the validators its last answer gave.

    429/503, or an HTML page where the feed should be (a block, a captcha, a consent
    page), raises at once. Any other failure of one feed becomes a warning as long as
    another feed answered, so one bad term or channel does not hide the rest; when no
    feed answered, the failures are the error.
    """
    old = load_cursor(state)
    cursor: dict[str, dict[str, str]] = {}
    pages: list[FeedPage] = []
    warnings: list[str] = []
    failures: list[_FeedFailed] = []
    answered = 0
    seen: set[str] = set()
    for label, url in feeds:
        if url in seen:  # "#acme" and "acme" are the same query
            continue
        seen.add(url)
        previous = old.get(url)
        validators = (
            {k: v for k, v in previous.items() if isinstance(v, str)}
            if isinstance(previous, dict)
            else {}
        )
        try:
            page = await _poll_one(client, settings, url, validators, label, hint)
        except _FeedFailed as exc:
            if exc.throttled:
                raise
            failures.append(exc)
            if validators:
                cursor[url] = validators
            continue
        answered += 1
        if page is None:
            if validators:
                cursor[url] = validators
            continue
        feed_page, fresh = page
        if fresh:
            cursor[url] = fresh
        pages.append(feed_page)
        if feed_page.feed.bozo:
            warnings.append(
                f"{label}: malformed feed, kept what was readable: {feed_page.feed.bozo}"
            )
    if failures and not answered:
        raise SourceError(_all_failed(failures))
    return Polled(
        pages=tuple(pages),
        cursor=dump_cursor(cursor),
        warnings=(*(str(failure) for failure in failures), *warnings),
        not_modified=answered > 0 and not pages and not failures,
    )


async def _poll_one(
    client: httpx.AsyncClient,
    settings: Settings,
    url: str,
    validators: dict[str, str],
    label: str,
    hint: Hint,
) -> tuple[FeedPage, dict[str, str]] | None:
    """The page and its new validators, or None for 304 Not Modified."""
    headers = {"Accept": ACCEPT}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    try:
        resp = await http.get(client, url, settings, headers=headers)
    except SourceError as exc:
        raise _FeedFailed(label, str(exc), "") from None
    if resp.status == 304:
        return None
    if resp.status != 200:
        throttled = resp.status in THROTTLE_STATUSES
        error = http.status_error(resp)
        raise _FeedFailed(label, str(error), hint(resp.status), throttled=throttled)
    if _HTML_PAGE.match(resp.content[:2048].removeprefix(b"\xef\xbb\xbf")):
        problem = "got an HTML page instead of the feed"
        raise _FeedFailed(label, problem, hint(None), throttled=True)
    try:
        if len(resp.content) <= INLINE_PARSE_BYTES:
            feed, root = _parse(resp.content, resp.url, resp.content_type)
        else:
            feed, root = await asyncio.to_thread(_parse, resp.content, resp.url, resp.content_type)
    except SourceError as exc:
        raise _FeedFailed(label, str(exc), "") from None
    fresh = {
        key: value
        for key, value in (
            ("etag", resp.headers.get("etag")),
            ("last_modified", resp.headers.get("last-modified")),
        )
        if value
    }
    return FeedPage(url=url, feed=feed, root=root), fresh


def _with_hint(message: str, advice: str) -> str:
    return f"{message}; {advice}" if advice else message


def _all_failed(failures: Sequence[_FeedFailed]) -> str:
    if len(failures) == 1:
        return str(failures[0])
    # An outage fails every feed alike: say the advice once, not once per feed.
    advice = {failure.advice for failure in failures}
    shared = advice.pop() if len(advice) == 1 else ""
    shown = [f"{f.label}: {f.problem}" if shared else str(f) for f in failures[:3]]
    more = f"; and {len(failures) - 3} more" if len(failures) > 3 else ""
    return _with_hint(f"all {len(failures)} feeds failed: {'; '.join(shown)}{more}", shared)


def _parse(content: bytes, url: str, content_type: str) -> tuple[ParsedFeed, ET.Element | None]:
    # Raises SourceError ("not a feed: ...") when nothing feed-like is in the body.
    return parse_feed(content, url=url, content_type=content_type or None), _xml_root(content)


def _xml_root(content: bytes) -> ET.Element | None:
    # White space (even a BOM and then a newline) before "<?xml" is common in real
    # feeds; expat refuses it, parse_feed accepts it, so the extras must too.
    content = content.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if content[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in content[:4]:
        return None
    if _DOCTYPE.search(content):
        return None
    try:
        return ET.fromstring(content)  # noqa: S314 - no DOCTYPE, so no entities to expand
    except (ET.ParseError, ValueError, LookupError):
        return None


def local_name(tag: object) -> str:
    """``"{namespace}Name"`` -> ``"Name"`` (Bing's namespace changes with every query)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def element_text(el: ET.Element | None) -> str:
    """All the text inside ``el``, white space tidied; "" for None."""
    return normalize_space("".join(el.itertext())) if el is not None else ""
