"""Discourse: newest forum posts naming a keyword, from one forum's ``/search.json``.

The text of each item is the search *blurb*: an excerpt of about 200 characters
around the match, not the whole post (that would cost one more request per post).

Incremental: the cursor keeps, per search term, the newest post seen (its
``created_at`` and its id; post ids grow with every new post). The next scan adds
``after:<day before that date>`` to the query: Discourse filters by whole days in the
server's time zone, so the day before is a margin that loses nothing whatever that
zone is. Pages (``order:latest``, newest first) are followed only until a post we
already have, and posts we already have are not returned again; capped at
``max_pages`` pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from ..config.model import SourceConfig
from ..errors import SourceError
from ..models import FetchResult, RawItem, SourceState
from . import http
from .base import SourceContext, register
from .common import (
    api_root,
    counters,
    cursor_result,
    decode_json,
    env_secret,
    html_to_text,
    json_body,
    load_cursor,
    looks_like_html,
    parse_time,
)

LOGIN_ERRORS = frozenset({"not_logged_in", "invalid_access"})
# How a bot-challenge page (Cloudflare and the like) gives itself away.
CHALLENGE_MARKERS = (b"cloudflare", b"cf-chl", b"just a moment", b"challenge-platform")


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def post_to_item(post: dict[str, Any], topic: dict[str, Any], root: str) -> RawItem | None:
    post_id, topic_id = post.get("id"), post.get("topic_id")
    if not isinstance(post_id, int) or not isinstance(topic_id, int):
        return None
    slug = topic.get("slug")
    url = (
        f"{root}/t/{slug}/{topic_id}" if isinstance(slug, str) and slug else f"{root}/t/{topic_id}"
    )
    number = post.get("post_number")
    # The first post *is* the topic: its URL is the topic's, as the forum's own feeds
    # and links write it, so the same post found through an RSS source is stored once.
    if isinstance(number, int) and number > 1:
        url += f"/{number}"
    return RawItem(
        external_id=str(post_id),
        url=url,
        title=str(topic.get("title") or ""),
        # Sanitized text with entities, or HTML highlights on forums that use
        # Postgres headlines: plain text either way.
        text=html_to_text(str(post.get("blurb") or "")),
        author=str(post.get("username") or ""),
        published=parse_time(post.get("created_at")),
        counters=counters(
            [
                ("likes", post.get("like_count")),
                ("views", topic.get("views")),
                ("posts", topic.get("posts_count")),
            ]
        ),
    )


@register
class DiscourseSource:
    type: ClassVar[str] = "discourse"
    options: ClassVar[tuple[str, ...]] = ("api_key_env", "api_username")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not config.base_url:
            problems.append(
                ("base_url", "missing: the forum's root, e.g. https://forum.example.com")
            )
        for key in ("api_key_env", "api_username"):
            value = config.option(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                problems.append((key, "expected a non-empty string"))
        if config.option("api_username") is not None and config.option("api_key_env") is None:
            problems.append(("api_key_env", "missing: api_username goes with an API key"))
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        if not config.base_url:
            raise SourceError("discourse source without base_url (the forum)")
        self.config = config
        self.root = api_root(config, config.base_url)
        self.settings = context.settings
        self.terms = context.search_terms

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        headers: dict[str, str] = {}
        key = env_secret(self.config, "api_key_env")
        if key:
            headers["Api-Key"] = key
            if username := self.config.option("api_username"):
                headers["Api-Username"] = str(username)
        cursor = load_cursor(state)
        items: dict[str, RawItem] = {}
        warnings: list[str] = []
        for term in self.terms:
            mark = _obj(cursor.get(term))
            seen_id = mark.get("post_id") if isinstance(mark.get("post_id"), int) else None
            seen_time = parse_time(mark.get("newest"))
            newest_id, newest_time = seen_id, seen_time
            # `@name` and `#slug` are Discourse operators (author, category): the bare
            # word is the keyword. Our matcher tells @acme from acme afterwards.
            query = f"{term.lstrip('#@')} order:latest"
            if seen_time is not None:
                query += f" after:{(seen_time.date() - timedelta(days=1)).isoformat()}"
            for page in range(1, self.settings.max_pages + 1):
                data = await self._search(client, {"q": query, "page": page}, headers)
                posts = data.get("posts")
                if not isinstance(posts, list):
                    raise SourceError("unexpected response from Discourse: no `posts` list")
                topics = {
                    t["id"]: t
                    for t in data.get("topics") or ()
                    if isinstance(t, dict) and isinstance(t.get("id"), int)
                }
                found = _obj(data.get("grouped_search_result"))
                if found.get("error"):
                    # e.g. a keyword shorter than the forum's minimum search length
                    warnings.append(f"{term!r}: the forum says: {found['error']}")
                    break
                reached = False
                for post in posts:
                    if not isinstance(post, dict):
                        continue
                    post_id = post.get("id")
                    if seen_id is not None and isinstance(post_id, int) and post_id <= seen_id:
                        reached = True  # posted before the last scan: returned then
                        continue
                    item = post_to_item(post, _obj(topics.get(post.get("topic_id"))), self.root)
                    if item is None:
                        continue
                    items.setdefault(item.external_id, item)
                    if isinstance(post_id, int) and (newest_id is None or post_id > newest_id):
                        newest_id = post_id
                    if item.published and (newest_time is None or item.published > newest_time):
                        newest_time = item.published
                # Newer forums say more_full_page_results; older ones more_posts.
                more_key = (
                    "more_full_page_results" if "more_full_page_results" in found else "more_posts"
                )
                if reached or not posts or not found.get(more_key):
                    break
            if newest_id is not None and newest_time is not None:
                cursor[term] = {"newest": newest_time.isoformat(), "post_id": newest_id}
        return cursor_result(items, cursor, warnings)

    async def _search(
        self, client: httpx.AsyncClient, params: dict[str, str | int], headers: dict[str, str]
    ) -> dict[str, Any]:
        # Not common.get_json: what to tell the user is in the body (Discourse's
        # error_type, a Cloudflare challenge) and in where a redirect ended (/login).
        resp = await http.get(
            client, f"{self.root}/search.json", self.settings, params=params, headers=headers
        )
        if resp.status != 200:
            raise self._error(resp)
        if urlsplit(resp.url).path.rstrip("/").endswith("/login"):
            raise self._login_error(f"redirected to {resp.url}")
        if looks_like_html(resp) and _challenge(resp.content):
            raise _challenge_error(resp)
        data = decode_json(resp, service="a Discourse forum")
        if not isinstance(data, dict):
            raise SourceError("unexpected response from Discourse: not an object")
        return data

    def _error(self, resp: http.HttpResponse) -> SourceError:
        if resp.status in (403, 429, 503) and _challenge(resp.content):
            return _challenge_error(resp)
        error_type = _obj(json_body(resp.content)).get("error_type")
        if error_type in LOGIN_ERRORS or resp.status in (401, 403):
            return self._login_error(str(http.status_error(resp)))
        return http.status_error(resp)

    def _login_error(self, what: str) -> SourceError:
        var = self.config.option("api_key_env")
        if var:
            return SourceError(
                f"{what}: the forum refused the API key in ${var} (check it, and api_username)"
            )
        return SourceError(
            f"{what}: the forum requires a login; ask its admins for an API key, put it "
            "in an environment variable and name it in api_key_env (with api_username)"
        )


def _challenge(content: bytes) -> bool:
    head = content[:8192].lower()
    return any(marker in head for marker in CHALLENGE_MARKERS)


def _challenge_error(resp: http.HttpResponse) -> SourceError:
    return SourceError(
        f"HTTP {resp.status}: blocked by a bot challenge (Cloudflare or similar) in front "
        "of the forum; mentionwatch does not solve challenges, ask the forum's admins "
        "to allow it"
    )
