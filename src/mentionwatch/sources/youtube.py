"""YouTube channel and playlist feeds: the latest videos of channels worth following.

YouTube offers no keyless search feed, so this source reads the Atom feeds of the
configured channels (``channel_id``) and playlists (``playlist_id``) and leaves it
to the matcher to pick the videos that name a brand. Each feed holds the 15 newest
videos and cannot be paged; the incremental strategy is a conditional GET per feed
(its ETag/Last-Modified kept in the cursor and sent back), and the store recognises
videos it already has.

Per video: ``yt:video:{id}`` as id, the watch (or Shorts) link, title, the
``media:description`` as plain text, the channel name as author, and the
``views`` and ``likes`` (``media:starRating`` count) counters.

The feeds have had outages of hours or days that answer 404 (or 5xx) for channels
that exist: a 404 is reported as a probably-passing error, never as "channel gone".
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from typing import Any, ClassVar, Final
from urllib.parse import quote

import httpx

from ..config.model import SourceConfig
from ..models import FetchResult, RawItem, SourceState
from .base import SourceContext, register
from .common import api_root, counters
from .feedpoll import element_text, local_name, poll_feeds

API: Final = "https://www.youtube.com"
FEED_PATH: Final = "/feeds/videos.xml"

_ATOM: Final = "{http://www.w3.org/2005/Atom}"
# Channel ids are "UC" and 22 more characters of base64url; playlist ids (PL…, UU…,
# OL…) vary in length but share the alphabet.
_CHANNEL_ID: Final = re.compile(r"UC[A-Za-z0-9_-]{22}")
_PLAYLIST_ID: Final = re.compile(r"[A-Za-z0-9_-]{10,}")
_SHAPES: Final = {
    "channel_id": (
        _CHANNEL_ID,
        "a channel id looks like UCxxxxxxxxxxxxxxxxxxxxxx (UC and 22 more characters; the part "
        "after /channel/ in the channel's URL, not its @handle)",
    ),
    "playlist_id": (
        _PLAYLIST_ID,
        "a playlist id looks like PLxxxxxxxxxxxxxxxx (the list= part of the playlist's URL)",
    ),
}


def _ids(value: Any) -> list[str] | None:
    """The ids of a ``channel_id``/``playlist_id`` option (one or a list); None if mistyped."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def likes_by_video(root: ET.Element | None) -> dict[str, int]:
    """``media:starRating`` counts (YouTube's likes) by entry id."""
    found: dict[str, int] = {}
    if root is None:
        return found
    for entry in root.iter(f"{_ATOM}entry"):
        video = element_text(entry.find(f"{_ATOM}id"))
        for el in entry.iter():
            if local_name(el.tag) == "starRating":
                count = el.get("count", "").strip()
                if video and count.isdigit():
                    found.setdefault(video, int(count))
                break
    return found


def with_likes(item: RawItem, likes: int | None) -> RawItem:
    if likes is None:
        return item
    return dataclasses.replace(item, counters=(*item.counters, *counters([("likes", likes)])))


def _hint(status: int | None) -> str:
    if status == 404 or (status is not None and status >= 500):
        return (
            "YouTube's feeds have outages (hours, sometimes days) that answer like this for "
            "channels that exist; the feed usually comes back by itself (if it never does, "
            "check the id)"
        )
    if status is None:
        return "YouTube answered with a web page (a consent or block page): try again later"
    if status == 429:
        return "YouTube is rate limiting this address: scan less often"
    return ""


@register
class YouTubeSource:
    type: ClassVar[str] = "youtube"
    options: ClassVar[tuple[str, ...]] = ("channel_id", "playlist_id")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        given = 0
        for key, (shape, example) in _SHAPES.items():
            value = config.option(key)
            if value is None:
                continue
            ids = _ids(value)
            if ids is None or not ids:
                problems.append((key, f"expected an id or a list of ids; {example}"))
                continue
            given += len(ids)
            for one in ids:
                if not shape.fullmatch(one.strip()):
                    problems.append((key, f"{one!r} is not an id: {example}"))
                    break
        if not given and not problems:
            problems.append(("", "a youtube source needs channel_id and/or playlist_id"))
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        self.root = api_root(config, API)
        self.settings = context.settings
        self.channels = [i.strip() for i in _ids(config.option("channel_id")) or ()]
        self.playlists = [i.strip() for i in _ids(config.option("playlist_id")) or ()]

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        base = f"{self.root}{FEED_PATH}"
        feeds = [(f"channel {c}", f"{base}?channel_id={quote(c)}") for c in self.channels] + [
            (f"playlist {p}", f"{base}?playlist_id={quote(p)}") for p in self.playlists
        ]
        polled = await poll_feeds(client, self.settings, state, feeds, hint=_hint)
        items: list[RawItem] = []
        for page in polled.pages:
            likes = likes_by_video(page.root)
            items.extend(with_likes(item, likes.get(item.external_id)) for item in page.feed.items)
        return polled.result(items)
