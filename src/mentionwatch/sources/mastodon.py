"""Mastodon hashtag timelines: the public posts one instance knows under each configured tag.

Incremental: the cursor keeps, per tag, the newest status id seen (ids sort by time).
A first scan reads the newest page and walks back in time (``Link: rel="next"``, i.e.
``max_id``) for at most ``max_pages`` pages. Every later scan walks *forward* from the
stored id (``min_id``, then ``Link: rel="prev"``): each page is the statuses immediately
newer than the last one seen, so a scan stopped by the page cap or the rate limit leaves
no gap: the next scan carries on from exactly where this one ended.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from ..config.model import SourceConfig
from ..errors import SourceError
from ..models import FetchResult, RawItem, SourceState
from . import http
from .base import SourceContext, register
from .common import (
    api_root,
    budget_spent,
    counters,
    cursor_result,
    decode_json,
    env_secret,
    html_to_text,
    load_cursor,
    parse_time,
)

TIMELINE = "/api/v1/timelines/tag/{}"
PAGE_LIMIT = 40  # the API's maximum per request
# Mastodon hashtags: letters, digits, "_", plus the middle dot and ZWNJ some scripts need.
_TAG = re.compile(r"[\w\u00b7\u200c]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# One entry of a Link header: <url>; param; param
_LINK = re.compile(r"<([^>]*)>([^,<]*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";]*)"?""", re.IGNORECASE)


def id_key(status_id: str) -> tuple[int, str]:
    """Sort key for status ids: numerically when they are digits (Mastodon's snowflakes,
    where "99" < "100"), else as text (forks with sortable string ids)."""
    return (int(status_id), "") if status_id.isdigit() else (-1, status_id)


def link_param(header: str, rel: str, key: str) -> str | None:
    """The ``key`` query parameter of the Link header entry with relation ``rel``."""
    for match in _LINK.finditer(header):
        found = _REL.search(match.group(2))
        if found and rel in found.group(1).split():
            values = parse_qs(urlsplit(match.group(1)).query).get(key)
            return values[0] if values else None
    return None


def status_to_item(status: dict[str, Any]) -> RawItem | None:
    # A boost wraps the original: the words, author and reach are the original's, and
    # its uri makes every boost of one post (on any instance) the same item.
    reblog = status.get("reblog")
    post = reblog if isinstance(reblog, dict) else status
    uri = post.get("uri")
    if not isinstance(uri, str) or not uri:
        return None
    account = post.get("account")
    account = account if isinstance(account, dict) else {}
    text = html_to_text(str(post.get("content") or ""))
    spoiler = str(post.get("spoiler_text") or "").strip()
    if spoiler:
        # The content warning is written by the author and often names the subject.
        text = f"{spoiler}\n{text}" if text else spoiler
    language = post.get("language")
    return RawItem(
        external_id=uri,
        url=str(post.get("url") or uri),  # url is null for some remote posts
        title="",
        text=text,
        author=str(account.get("acct") or ""),
        published=parse_time(post.get("created_at")),
        lang=language if isinstance(language, str) and language else None,
        counters=counters(
            [
                ("favourites", post.get("favourites_count")),
                ("reblogs", post.get("reblogs_count")),
                ("replies", post.get("replies_count")),
                ("followers", account.get("followers_count")),
            ]
        ),
    )


def _tag_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"expected hashtag names, got {type(value).__name__} {value!r}"
    tag = value.strip().removeprefix("#")
    if not tag:
        return f"{value!r} is an empty hashtag"
    if not _TAG.fullmatch(tag):
        return f"{value!r} is not a hashtag: letters, digits and _ only (no spaces)"
    return None


@register
class MastodonSource:
    type: ClassVar[str] = "mastodon"
    options: ClassVar[tuple[str, ...]] = ("tags", "token_env")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not config.base_url:
            problems.append(
                ("base_url", "missing: the Mastodon instance to read, e.g. https://mastodon.social")
            )
        elif "/api/" in urlsplit(config.base_url).path + "/":
            problems.append(
                (
                    "base_url",
                    "give the instance root (e.g. https://mastodon.social), not an API path",
                )
            )
        tags = config.option("tags")
        if tags is None:
            problems.append(("tags", "missing: the hashtags to follow, e.g. [acme, acmecorp]"))
        elif not isinstance(tags, list) or not tags:
            problems.append(("tags", "expected a non-empty list of hashtags, e.g. [acme]"))
        else:
            # Reported on `tags` itself: its line is known, an item's may not be.
            problems.extend(("tags", p) for tag in tags if (p := _tag_problem(tag)) is not None)
        token_env = config.option("token_env")
        if token_env is not None and not (
            isinstance(token_env, str) and _ENV_NAME.fullmatch(token_env)
        ):
            # Never echo the value: it may be a token pasted where its variable's name belongs.
            problems.append(
                ("token_env", "expected the NAME of an environment variable holding the token")
            )
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        if not config.base_url:
            # validate() reports this at config load; a hand-built config still gets a clear error.
            raise SourceError("mastodon: base_url (the instance) is required")
        self.config = config
        self.root = api_root(config, config.base_url)
        self.settings = context.settings
        tags: dict[str, str] = {}
        for raw in config.option("tags") or ():
            tag = str(raw).strip().removeprefix("#")
            # Mastodon tags are case-insensitive: #Acme and #acme are one timeline.
            tags.setdefault(tag.casefold(), tag)
        self.tags = tuple(tags.values())

    def _auth_hint(self) -> str:
        name = self.config.option("token_env")
        if name:
            return (
                f"the instance refused the access token in ${name} "
                "(it needs the read:statuses scope)"
            )
        return (
            "this instance requires an access token for hashtag timelines: create one "
            "(Preferences > Development, scope read:statuses) and set token_env to the name "
            "of the environment variable that holds it"
        )

    async def _page(
        self,
        client: httpx.AsyncClient,
        tag: str,
        params: dict[str, str | int],
        headers: dict[str, str] | None,
    ) -> tuple[list[dict[str, Any]], http.HttpResponse]:
        url = self.root + TIMELINE.format(quote(tag, safe=""))
        resp = await http.get(client, url, self.settings, params=params, headers=headers)
        if resp.status == 404:
            try:
                body = json.loads(resp.content)
            except (ValueError, UnicodeDecodeError):
                body = None
            if isinstance(body, dict) and "error" in body:
                raise SourceError(
                    f"#{tag}: no such hashtag on {self.root} (HTTP 404): nobody there has "
                    "used it yet, or it is misspelt"
                )
            raise SourceError(
                f"#{tag}: HTTP 404 not found at {url}: is base_url a Mastodon instance?"
            )
        if resp.status in (401, 403):
            raise SourceError(f"#{tag}: {http.status_error(resp)}; {self._auth_hint()}")
        if resp.status != 200:
            raise SourceError(f"#{tag}: {http.status_error(resp)}")
        data = decode_json(resp, service="a Mastodon instance")
        if not isinstance(data, list):
            raise SourceError(f"#{tag}: unexpected response: expected a list of statuses")
        return [s for s in data if isinstance(s, dict)], resp

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        token = env_secret(self.config, "token_env")
        headers = {"Authorization": f"Bearer {token}"} if token else None
        cursor = load_cursor(state)
        items: dict[str, RawItem] = {}
        warnings: list[str] = []
        for tag in self.tags:
            key = tag.casefold()
            seen = cursor.get(key)
            newest = seen if isinstance(seen, str) and seen else None
            # Forward from what was seen, or back in time from the newest on a first scan.
            rel, page_key = ("prev", "min_id") if newest else ("next", "max_id")
            page_id = newest
            for _ in range(self.settings.max_pages):
                params: dict[str, str | int] = {"limit": PAGE_LIMIT}
                if page_id:
                    params[page_key] = page_id
                statuses, resp = await self._page(client, tag, params, headers)
                for status in statuses:
                    item = status_to_item(status)
                    if item is not None:
                        items.setdefault(item.external_id, item)
                    # The timeline position is the wrapper's id, boost or not.
                    sid = status.get("id")
                    if (
                        isinstance(sid, str)
                        and sid
                        and (newest is None or id_key(sid) > id_key(newest))
                    ):
                        newest = sid
                if newest:
                    cursor[key] = newest
                # 300 requests / 5 minutes per IP and per account: when the instance says the
                # budget is gone, asking again only earns 429s for every tag after this one.
                if budget_spent(resp, "x-ratelimit-remaining"):
                    warnings.append(
                        "rate limit reached (X-RateLimit-Remaining: 0): the rest waits for "
                        "the next scan"
                    )
                    return cursor_result(items, cursor, warnings)
                page_id = link_param(resp.headers.get("link", ""), rel, page_key)
                if not statuses or not page_id:
                    break
        return cursor_result(items, cursor, warnings)
