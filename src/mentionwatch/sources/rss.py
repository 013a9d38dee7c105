"""Feeds: RSS 0.9x/1.0/2.0, Atom and JSON Feed 1.1, with conditional GET."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import httpx

from ..config.model import SourceConfig
from ..errors import SourceError
from ..models import FetchResult, SourceState
from . import http
from .base import SourceContext, register
from .feeds import parse_feed

INLINE_PARSE_BYTES = 256 * 1024


@register
class RssSource:
    type: ClassVar[str] = "rss"
    options: ClassVar[tuple[str, ...]] = ()

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        return []

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        if not config.url:
            raise SourceError("rss source without url")
        self.url = config.url
        self.settings = context.settings

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        headers: dict[str, str] = {
            "Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
        }
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        resp = await http.get(client, self.url, self.settings, headers=headers)
        if resp.status == 304:
            return FetchResult(items=(), state=state, not_modified=True)
        if resp.status != 200:
            raise http.status_error(resp)
        if len(resp.content) <= INLINE_PARSE_BYTES:
            # A typical feed parses in a millisecond or two: a thread would cost more
            # in GIL hand-offs than it saves.
            parsed = parse_feed(resp.content, url=resp.url, content_type=resp.content_type)
        else:
            # A big (or feedparser-bound) body may take seconds: keep downloads moving.
            parsed = await asyncio.to_thread(
                parse_feed, resp.content, url=resp.url, content_type=resp.content_type
            )
        new_state = SourceState(
            etag=resp.headers.get("etag"),
            last_modified=resp.headers.get("last-modified"),
            cursor=state.cursor,
        )
        warnings = (
            (f"malformed feed, kept what was readable: {parsed.bozo}",) if parsed.bozo else ()
        )
        return FetchResult(items=parsed.items, state=new_state, warnings=warnings)
