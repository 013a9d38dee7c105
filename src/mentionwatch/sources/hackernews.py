"""Hacker News through the Algolia search API: stories and comments naming a keyword.

Incremental: the cursor keeps, per search term, the newest ``created_at_i`` seen;
the next scan asks only for items from that second on (``>=``, so nothing created
in the same second is lost; what was seen before is recognised and skipped).
"""

from __future__ import annotations

import html
from typing import Any, ClassVar

import httpx

from ..config.model import SourceConfig
from ..errors import SourceError
from ..models import FetchResult, RawItem, SourceState
from ..textutil import normalize_space
from .base import SourceContext, register
from .common import (
    api_root,
    counters,
    dump_cursor,
    get_json,
    html_to_text,
    load_cursor,
    parse_time,
)

API = "https://hn.algolia.com"
API_PATH = "/api/v1"  # the real API's own path: appended to base_url like everywhere
PERMALINK = "https://news.ycombinator.com/item?id={}"
HITS_PER_PAGE = 100


def hit_to_item(hit: dict[str, Any]) -> RawItem | None:
    object_id = str(hit.get("objectID") or "")
    if not object_id:
        return None
    is_comment = hit.get("comment_text") is not None
    # Comments have no title of their own: show the story they belong to.
    title = (hit.get("story_title") if is_comment else hit.get("title")) or ""
    body = hit.get("comment_text") if is_comment else hit.get("story_text")
    return RawItem(
        external_id=object_id,
        url=PERMALINK.format(object_id),
        # Algolia's titles are plain text ("The <dialog> element"); only story_text
        # and comment_text are HTML. Character references still occur in recorded
        # titles ("Acme&#x27;s"), so those are decoded, but no tag is ever stripped.
        title=normalize_space(html.unescape(str(title))),
        text=html_to_text(str(body or "")),
        author=str(hit.get("author") or ""),
        published=parse_time(hit.get("created_at_i")) or parse_time(hit.get("created_at")),
        lang=None,
        counters=counters([("points", hit.get("points")), ("comments", hit.get("num_comments"))]),
    )


@register
class HackerNewsSource:
    type: ClassVar[str] = "hackernews"
    options: ClassVar[tuple[str, ...]] = ("tags",)

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        tags = config.option("tags")
        if tags is not None and not isinstance(tags, str):
            return [("tags", "expected an Algolia tags filter such as '(story,comment)'")]
        return []

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        # base_url is scheme + host (+ a path prefix), as for every adapter; a config
        # written for the old meaning (ending in /api/v1) still works.
        self.root = api_root(config, API).removesuffix(API_PATH) + API_PATH
        self.settings = context.settings
        self.terms = context.search_terms
        # Algolia: comma = AND, parentheses = OR. Stories and comments by default.
        self.tags = str(config.option("tags", "(story,comment)"))

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        cursor = load_cursor(state)
        items: dict[str, RawItem] = {}
        for term in self.terms:
            query = term.lstrip("#@")  # Algolia ignores the sigil; our matcher does not
            since = cursor.get(term)
            newest = since
            for page in range(self.settings.max_pages):
                params: dict[str, str | int] = {
                    "query": query,
                    "tags": self.tags,
                    "hitsPerPage": HITS_PER_PAGE,
                    "page": page,
                }
                if isinstance(since, int):
                    params["numericFilters"] = f"created_at_i>={since}"
                data, _ = await get_json(
                    client, f"{self.root}/search_by_date", self.settings, params=params
                )
                hits = data.get("hits") if isinstance(data, dict) else None
                if not isinstance(hits, list):
                    raise SourceError("unexpected response from the HN search API: no `hits` list")
                for hit in hits:
                    if not isinstance(hit, dict):
                        continue
                    item = hit_to_item(hit)
                    if item is not None:
                        items.setdefault(item.external_id, item)
                    created = hit.get("created_at_i")
                    if isinstance(created, int) and (newest is None or created > newest):
                        newest = created
                pages = data.get("nbPages")
                if not hits or not isinstance(pages, int) or page + 1 >= pages:
                    break
            if newest is not None:
                cursor[term] = newest
        return FetchResult(
            items=tuple(items.values()),
            state=SourceState(etag=None, last_modified=None, cursor=dump_cursor(cursor)),
        )
