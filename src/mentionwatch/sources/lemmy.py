"""Lemmy: newest posts (and optionally comments) naming a keyword, from one instance's
``/api/v3/search`` (Lemmy 0.18/0.19; the instance also sees what it federates).

Incremental: the search has no "since" parameter, but sorts ``New`` (newest first), so
the cursor keeps, per search term and per kind (posts, comments), the newest
``published`` seen, to the microsecond; the next scan pages (1-based ``page``) only
until it meets an item published at or before that instant, capped at ``max_pages``.
Caveat: a post federated late, with an older ``published`` than what we have already
seen, sorts below the cursor and is not picked up.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any, ClassVar

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
    json_body,
    load_cursor,
    parse_time,
)

PAGE_SIZE = 50  # Lemmy's maximum `limit`
# Lemmy's error codes for "this instance only answers members".
LOGIN_ERRORS = frozenset({"not_logged_in", "instance_is_private", "incorrect_login"})


def instant(value: object) -> datetime | None:
    """``published`` as an aware UTC datetime, microseconds kept (the cursor compares
    at full precision; common.parse_time rounds to the second). Lemmy 0.18 and older
    write naive timestamps, which are UTC."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return parse_time(value)  # e.g. nanoseconds: good to the second is good enough
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _text(value: object) -> str:
    # Markdown, not HTML; but some Lemmy versions (0.18.x) stored titles and bodies
    # with HTML entities (`&amp;`), which no one typed.
    return html.unescape(value) if isinstance(value, str) else ""


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _gone(thing: dict[str, Any]) -> bool:
    # Deleted by its author or removed by a moderator: no longer public, so not a mention.
    return bool(thing.get("deleted") or thing.get("removed"))


def post_view_to_item(view: dict[str, Any]) -> RawItem | None:
    post = view.get("post")
    if not isinstance(post, dict) or _gone(post):
        return None
    ap_id = post.get("ap_id")
    if not isinstance(ap_id, str) or not ap_id:
        return None
    creator = _obj(view.get("creator"))
    stats = _obj(view.get("counts"))
    return RawItem(
        # ap_id is the post's global ActivityPub id, the same on every instance that
        # federates it; it is also the page a person opens.
        external_id=ap_id,
        url=ap_id,
        title=_text(post.get("name")),
        text=_text(post.get("body")),
        author=str(creator.get("name") or ""),
        published=parse_time(post.get("published")),
        counters=counters(
            [
                ("score", stats.get("score")),
                ("comments", stats.get("comments")),
                ("upvotes", stats.get("upvotes")),
            ]
        ),
    )


def comment_view_to_item(view: dict[str, Any]) -> RawItem | None:
    comment = view.get("comment")
    if not isinstance(comment, dict) or _gone(comment):
        return None
    ap_id = comment.get("ap_id")
    if not isinstance(ap_id, str) or not ap_id:
        return None
    post = _obj(view.get("post"))
    creator = _obj(view.get("creator"))
    stats = _obj(view.get("counts"))
    return RawItem(
        external_id=ap_id,
        url=ap_id,
        title=_text(post.get("name")),  # a comment has no title: show its post's
        text=_text(comment.get("content")),
        author=str(creator.get("name") or ""),
        published=parse_time(comment.get("published")),
        counters=counters(
            [
                ("score", stats.get("score")),
                ("replies", stats.get("child_count")),
                ("upvotes", stats.get("upvotes")),
            ]
        ),
    )


# kind (key in the response and in the cursor) → the view's inner object, its converter
KINDS = {
    "posts": ("post", post_view_to_item),
    "comments": ("comment", comment_view_to_item),
}


@register
class LemmySource:
    type: ClassVar[str] = "lemmy"
    options: ClassVar[tuple[str, ...]] = ("include_comments", "token_env")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not config.base_url:
            problems.append(("base_url", "missing: the Lemmy instance, e.g. https://lemmy.world"))
        if not isinstance(config.option("include_comments", False), bool):
            problems.append(("include_comments", "expected true or false"))
        token_env = config.option("token_env")
        if token_env is not None and (not isinstance(token_env, str) or not token_env):
            problems.append(("token_env", "expected the name of an environment variable"))
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        if not config.base_url:
            raise SourceError("lemmy source without base_url (the instance)")
        self.config = config
        self.root = api_root(config, config.base_url)
        self.settings = context.settings
        self.terms = context.search_terms
        comments = bool(config.option("include_comments", False))
        self.kinds = ("posts", "comments") if comments else ("posts",)
        # "All" also returns communities and users, which we ignore: one request a page
        # beats a request per kind.
        self.search_type = "All" if comments else "Posts"

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        headers: dict[str, str] = {}
        token = env_secret(self.config, "token_env")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        cursor = load_cursor(state)
        items: dict[str, RawItem] = {}
        for term in self.terms:
            marks = _obj(cursor.get(term))
            seen = {kind: instant(marks.get(kind)) for kind in self.kinds}
            newest = dict(seen)
            # Lemmy matches the words as a substring of title and body: a leading #
            # or @ would have to appear literally.
            query = term.lstrip("#@")
            active = set(self.kinds)
            for page in range(1, self.settings.max_pages + 1):
                params: dict[str, str | int] = {
                    "q": query,
                    "type_": self.search_type,
                    "sort": "New",
                    "listing_type": "All",
                    "limit": PAGE_SIZE,
                    "page": page,
                }
                data = await self._search(client, params, headers)
                for kind in self.kinds:
                    if kind not in active:
                        continue
                    views = data.get(kind)
                    if not isinstance(views, list):
                        raise SourceError(f"unexpected response from Lemmy: no `{kind}` list")
                    inner, convert = KINDS[kind]
                    reached = False
                    for view in views:
                        if not isinstance(view, dict) or not isinstance(view.get(inner), dict):
                            continue
                        published = instant(view[inner].get("published"))
                        since = seen[kind]
                        if since is not None and published is not None and published <= since:
                            reached = True  # sorted New: the rest was seen before
                            continue
                        item = convert(view)
                        if item is not None:
                            items.setdefault(item.external_id, item)
                        top = newest[kind]
                        if published is not None and (top is None or published > top):
                            newest[kind] = published
                    # A short page is the last one: Lemmy says nothing about "more".
                    if reached or len(views) < PAGE_SIZE:
                        active.discard(kind)
                if not active:
                    break
            # Kinds not fetched now (include_comments turned off) keep their mark.
            marks |= {kind: when.isoformat() for kind, when in newest.items() if when}
            if marks:
                cursor[term] = marks
        return cursor_result(items, cursor)

    async def _search(
        self, client: httpx.AsyncClient, params: dict[str, str | int], headers: dict[str, str]
    ) -> dict[str, Any]:
        # Not common.get_json: Lemmy explains its errors in the body ({"error": code},
        # mostly with HTTP 400), and the code is what tells the user what to do.
        resp = await http.get(
            client, f"{self.root}/api/v3/search", self.settings, params=params, headers=headers
        )
        if resp.status != 200:
            raise self._error(resp)
        data = decode_json(resp, service="a Lemmy instance")
        if not isinstance(data, dict):
            raise SourceError("unexpected response from Lemmy: not an object")
        return data

    def _error(self, resp: http.HttpResponse) -> SourceError:
        error = http.status_error(resp)
        body = json_body(resp.content)
        code = body.get("error") if isinstance(body, dict) else None
        if code in LOGIN_ERRORS or resp.status in (401, 403):
            what = "the token was refused" if self.config.option("token_env") else "login needed"
            reason = f" ({code})" if isinstance(code, str) else ""
            return SourceError(
                f"{error}{reason}: {what}; set token_env to the name of an environment "
                "variable holding a JWT for an account on this instance"
            )
        if isinstance(code, str) and code:
            return SourceError(f"{error}: Lemmy says {code!r}")
        if resp.status == 404:
            return SourceError(f"{error}: is base_url a Lemmy instance serving /api/v3?")
        return error
