"""Bing News through its RSS search feed: news articles naming a brand keyword.

One ``GET /news/search?q=...&format=rss`` (``&mkt=...`` when configured) per search
term. There is no pagination and no "since" parameter: the incremental strategy is a
conditional GET (each term URL's ETag/Last-Modified kept in the cursor and sent
back), and the store recognises stories it already has.

Per item: the publisher's own URL, taken from the ``url`` parameter of Bing's
``apiclick.aspx`` redirect link, as both URL and id (the redirect carries
per-request tracking values, the article URL does not); the plain-text snippet; the
outlet (``News:Source``) as author. Bing binds the ``News:`` prefix to the query URL
itself, a different namespace on every request, so that element is found by its
local name.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from typing import ClassVar, Final
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from ..config.model import SourceConfig
from ..models import FetchResult, RawItem, SourceState
from .base import SourceContext, register
from .common import api_root
from .feedpoll import element_text, local_name, poll_feeds

API: Final = "https://www.bing.com"
SEARCH_PATH: Final = "/news/search"

_MKT: Final = re.compile(r"[A-Za-z]{2}-[A-Za-z]{2}")


def search_query(term: str) -> str:
    """Bing's ``q`` for one keyword: sigils dropped, phrases quoted."""
    words = " ".join(term.lstrip("#@").replace('"', " ").split())
    return f'"{words}"' if " " in words else words


def article_url(link: str) -> str:
    """The publisher URL inside a Bing redirect link, or "" when there is none."""
    try:
        parts = urlsplit(link)
        target = parse_qs(parts.query).get("url", [""])[0].strip()
        if not target:
            return ""
        found = urlsplit(target)
    except ValueError:
        return ""
    if found.scheme.lower() not in ("http", "https") or not found.netloc:
        return ""
    return target


def publishers(root: ET.Element | None) -> dict[str, str]:
    """Outlet name by article URL."""
    found: dict[str, str] = {}
    if root is None:
        return found
    for item in root.iter("item"):
        link = element_text(item.find("link"))
        key = article_url(link) or link
        name = next(
            (element_text(child) for child in item if local_name(child.tag) == "Source"), ""
        )
        if key and name:
            found.setdefault(key, name)
    return found


def refine(item: RawItem, outlets: dict[str, str]) -> RawItem:
    """Point the item at the article itself and credit the outlet."""
    url = article_url(item.url) or item.url
    # Bing items have no guid, so parse_feed used the redirect link as the id.
    external_id = url if item.external_id == item.url else item.external_id
    return dataclasses.replace(
        item, external_id=external_id, url=url, author=outlets.get(url) or item.author
    )


def _hint(status: int | None) -> str:
    if status is None or status in (429, 503):
        return (
            "Bing is refusing automated requests from this address for now (rate limit or "
            "block page): scan less often and try later"
        )
    return ""


@register
class BingNewsSource:
    type: ClassVar[str] = "bingnews"
    options: ClassVar[tuple[str, ...]] = ("mkt",)

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        mkt = config.option("mkt")
        if mkt is not None and not (isinstance(mkt, str) and _MKT.fullmatch(mkt)):
            return [("mkt", f"expected a market code such as 'en-US' or 'de-DE', got {mkt!r}")]
        return []

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        self.root = api_root(config, API)
        self.settings = context.settings
        self.terms = context.search_terms
        mkt = config.option("mkt")
        self.mkt = str(mkt) if mkt else None

    def url_for(self, query: str) -> str:
        params = {"q": query, "format": "rss"}
        if self.mkt:
            params["mkt"] = self.mkt
        return f"{self.root}{SEARCH_PATH}?{urlencode(params, quote_via=quote)}"

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        # Bing's search ignores case: "Acme" and "ACME" would be the same request.
        feeds: dict[str, tuple[str, str]] = {}
        for term in self.terms:
            if query := search_query(term):
                feeds.setdefault(query.casefold(), (f"term {term!r}", self.url_for(query)))
        polled = await poll_feeds(client, self.settings, state, list(feeds.values()), hint=_hint)
        items: list[RawItem] = []
        for page in polled.pages:
            outlets = publishers(page.root)
            items.extend(refine(item, outlets) for item in page.feed.items)
        return polled.result(items)
