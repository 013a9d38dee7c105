"""Google News through its RSS search feed: news articles naming a brand keyword.

One ``GET /rss/search?q=...&hl=...&gl=...&ceid=...`` per search term. The feed has no
pagination (roughly the top 100 stories) and no "since" parameter, so the only
incremental tools are the optional ``when`` window (``when:1d`` in the query) and a
conditional GET: the ETag/Last-Modified of each term's URL is kept in the cursor and
sent back, and a 304 costs nothing. Stories seen before are recognised by the store.

Per item: the guid as id; the Google link as URL (opaque since 2024: resolving it to
the publisher's URL takes a fragile private call, so it is kept as it is); the title
without its " - Publisher" suffix; the description's plain text (the headline and
the outlet, sometimes a cluster of related headlines: Google gives no article text);
the outlet (``<source>``) as author.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from typing import ClassVar, Final
from urllib.parse import quote, urlencode

import httpx

from ..config.model import SourceConfig
from ..models import FetchResult, RawItem, SourceState
from .base import SourceContext, register
from .common import api_root
from .feedpoll import element_text, poll_feeds

API: Final = "https://news.google.com"
SEARCH_PATH: Final = "/rss/search"

_HL: Final = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_GL: Final = re.compile(r"[A-Za-z]{2}")
_CEID: Final = re.compile(r"[A-Za-z]{2}:[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_WHEN: Final = re.compile(r"[1-9][0-9]*[hdmy]")
_FORMATS: Final = {
    "hl": (_HL, "expected an interface language such as 'en-US' or 'de'"),
    "gl": (_GL, "expected a two-letter country code such as 'US'"),
    "ceid": (_CEID, "expected '{country}:{language}' such as 'US:en' or 'BR:pt-419'"),
    "when": (_WHEN, "expected a time window such as '1h', '1d' or '7d'"),
}


def search_query(term: str, when: str | None) -> str:
    """Google's ``q`` for one keyword: sigils dropped, phrases quoted, window added."""
    # Google News has no hashtags or handles; quotes inside a keyword would break ours.
    words = " ".join(term.lstrip("#@").replace('"', " ").split())
    if not words:
        return ""
    query = f'"{words}"' if " " in words else words
    return f"{query} when:{when}" if when else query


def publishers(root: ET.Element | None) -> dict[str, str]:
    """Outlet name by item guid (and link, for items without one)."""
    found: dict[str, str] = {}
    if root is None:
        return found
    for item in root.iter("item"):
        name = element_text(item.find("source"))
        if not name:
            continue
        for key in (element_text(item.find("guid")), element_text(item.find("link"))):
            if key:
                found.setdefault(key, name)
    return found


def refine(item: RawItem, publisher: str) -> RawItem:
    """Credit the outlet and drop the " - Outlet" Google appends to every headline."""
    if not publisher:
        return item
    title = item.title
    suffix = f" - {publisher}"
    if title.endswith(suffix) and len(title) > len(suffix):
        title = title[: -len(suffix)].rstrip()
    return dataclasses.replace(item, title=title, author=publisher)


def _hint(status: int | None) -> str:
    if status is None or status in (429, 503):
        return (
            "Google News is refusing automated requests from this address for now (rate "
            "limit, 'unusual traffic' check or consent page): scan less often and try later"
        )
    return ""


@register
class GoogleNewsSource:
    type: ClassVar[str] = "googlenews"
    options: ClassVar[tuple[str, ...]] = ("hl", "gl", "ceid", "when")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems = []
        for key, (pattern, message) in _FORMATS.items():
            value = config.option(key)
            if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
                problems.append((key, f"{message}, got {value!r}"))
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        self.root = api_root(config, API)
        self.settings = context.settings
        self.terms = context.search_terms
        self.hl = str(config.option("hl", "en-US"))
        self.gl = str(config.option("gl", "US")).upper()
        # hl, gl and ceid must agree or Google returns odd or empty results; ceid is
        # "{country}:{language}", derived here unless given (Brazil wants "BR:pt-419").
        self.ceid = str(config.option("ceid", f"{self.gl}:{self.hl.split('-')[0].lower()}"))
        when = config.option("when")
        self.when = str(when) if when else None

    def url_for(self, query: str) -> str:
        params = {"q": query, "hl": self.hl, "gl": self.gl, "ceid": self.ceid}
        # Spaces as %20 and ":" left alone: the URL Google's own site builds.
        return f"{self.root}{SEARCH_PATH}?{urlencode(params, quote_via=quote, safe=':')}"

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        # Google's search ignores case: "Acme" and "ACME" would be the same request.
        feeds: dict[str, tuple[str, str]] = {}
        for term in self.terms:
            if query := search_query(term, self.when):
                feeds.setdefault(query.casefold(), (f"term {term!r}", self.url_for(query)))
        polled = await poll_feeds(client, self.settings, state, list(feeds.values()), hint=_hint)
        items: list[RawItem] = []
        for page in polled.pages:
            outlets = publishers(page.root)
            items.extend(
                refine(item, outlets.get(item.external_id, "")) for item in page.feed.items
            )
        return polled.result(items)
