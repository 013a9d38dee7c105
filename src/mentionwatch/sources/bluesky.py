"""Bluesky posts naming a keyword, through ``app.bsky.feed.searchPosts``.

Search is effectively login-only (the public AppView has refused anonymous searches
since early 2025, and always refuses anonymous paging), so with ``handle_env`` and
``app_password_env`` each scan opens one session on the PDS (``createSession``) and
searches through it; without them one anonymous page per term is tried on the public
AppView. The password and the session token live only in memory for that scan.

Incremental: the cursor keeps, per search term, the newest ``indexedAt`` seen; the
next scan passes it as ``since`` (inclusive: a post seen at that very second comes
again and is recognised downstream) and, when logged in, follows the API ``cursor``
through older results for at most ``max_pages`` pages.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
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
    budget_spent,
    counters,
    cursor_result,
    env_secret,
    get_json,
    json_body,
    load_cursor,
    parse_time,
)

APPVIEW = "https://public.api.bsky.app"  # anonymous reads (cached public AppView)
PDS = "https://bsky.social"  # login, and searches proxied to the AppView with a session
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
LOGIN = "/xrpc/com.atproto.server.createSession"
PERMALINK = "https://bsky.app/profile/{}/post/{}"
PAGE_LIMIT = 100  # the API's maximum
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_OPTIONS = ("handle_env", "app_password_env")

LOGIN_HINT = (
    "Bluesky requires login for search: set handle_env and app_password_env to the names "
    "of environment variables holding your handle and an app password (e.g. "
    "handle_env: BLUESKY_HANDLE, app_password_env: BLUESKY_APP_PASSWORD)"
)


def _published(record: dict[str, Any], indexed: datetime | None) -> datetime | None:
    # createdAt is whatever the posting client claims: it can be missing, garbage, or
    # later than the moment the server first saw the post (a wrong clock, or a post
    # dated ahead to sit on top of feeds). No post is written after it was indexed, so
    # a createdAt past indexedAt (or past now, without indexedAt) is "in the future"
    # and the server's indexedAt is the better answer.
    created = parse_time(record.get("createdAt"))
    if created is not None and created <= (indexed or datetime.now(UTC)):
        return created
    return indexed


# What the API puts in place of a handle that failed verification: no one's name.
INVALID_HANDLE = "handle.invalid"


def _author_name(author: dict[str, Any], did: str) -> str:
    """The author's handle, or the DID when the handle is missing or unverified."""
    handle = author.get("handle")
    if not isinstance(handle, str) or not handle or handle.lower() == INVALID_HANDLE:
        return did
    return handle


def post_to_item(post: dict[str, Any]) -> RawItem | None:
    uri = post.get("uri")
    # at://{did}/app.bsky.feed.post/{rkey}: the record's global, stable address.
    parts = uri.removeprefix("at://").split("/") if isinstance(uri, str) else []
    if not isinstance(uri, str) or not uri.startswith("at://") or len(parts) != 3 or not all(parts):
        return None
    repo, _, rkey = parts
    author = post.get("author")
    author = author if isinstance(author, dict) else {}
    record = post.get("record")
    record = record if isinstance(record, dict) else {}
    # The DID, not the handle, in the link: handles change, DIDs do not.
    did = author.get("did")
    did = did if isinstance(did, str) and did else repo
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    return RawItem(
        external_id=uri,
        url=PERMALINK.format(did, rkey),
        title="",
        text=str(record.get("text") or ""),  # plain text already (links live in facets)
        author=_author_name(author, did),
        published=_published(record, parse_time(post.get("indexedAt"))),
        lang=lang or None,
        counters=counters(
            [
                ("likes", post.get("likeCount")),
                ("reposts", post.get("repostCount")),
                ("replies", post.get("replyCount")),
                ("quotes", post.get("quoteCount")),
            ]
        ),
    )


def _xrpc_error(content: bytes) -> str:
    """The XRPC error name of a failed call (``AuthFactorTokenRequired``...), or ""."""
    body = json_body(content)
    name = body.get("error") if isinstance(body, dict) else None
    # Only a plain identifier: this text comes from the server and ends up in a message.
    return name if isinstance(name, str) and re.fullmatch(r"[A-Za-z]{1,64}", name) else ""


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@register
class BlueskySource:
    type: ClassVar[str] = "bluesky"
    options: ClassVar[tuple[str, ...]] = ("handle_env", "app_password_env", "pds_url")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for key in _SECRET_OPTIONS:
            value = config.option(key)
            if value is not None and not (isinstance(value, str) and _ENV_NAME.fullmatch(value)):
                # Never echo the value: it may be the password itself, pasted in by mistake.
                problems.append(
                    (key, "expected the NAME of an environment variable (secrets stay out of YAML)")
                )
        given = [key for key in _SECRET_OPTIONS if config.option(key) is not None]
        if len(given) == 1:
            (missing,) = (key for key in _SECRET_OPTIONS if key not in given)
            problems.append(
                (missing, f"missing: {given[0]} needs {missing} too (both, or neither)")
            )
        pds = config.option("pds_url")
        if pds is not None:
            parts = urlsplit(pds) if isinstance(pds, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(("pds_url", "expected an http:// or https:// URL of your PDS"))
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        self.config = config
        self.settings = context.settings
        self.appview = api_root(config, APPVIEW)
        # base_url stands in for both hosts (tests, a mirror); pds_url only for the PDS
        # (an account on a self-hosted PDS).
        self.pds = str(config.option("pds_url") or config.base_url or PDS).rstrip("/")
        queries: dict[str, str] = {}
        for term in context.search_terms:
            # The search engine reads a leading # or @ as syntax; our matcher keeps
            # the distinction, so the looser query loses nothing.
            query = term.lstrip("#@").strip()
            if query:
                queries.setdefault(query.casefold(), query)
        self.queries = tuple(queries.values())

    def _variables(self) -> str:
        return f"${self.config.option('handle_env')} / ${self.config.option('app_password_env')}"

    async def _login(self, client: httpx.AsyncClient) -> str | None:
        """A session token from createSession, or None when no login is configured."""
        handle = env_secret(self.config, "handle_env")
        password = env_secret(self.config, "app_password_env")
        if handle is None or password is None:
            return None
        where = f"Bluesky login at {self.pds}"
        try:
            async with asyncio.timeout(self.settings.timeout):
                # No redirects: a 307/308 would send the password on to wherever it points.
                # Not retried either: logins are rationed (30 per 5 minutes per account).
                async with client.stream(
                    "POST",
                    self.pds + LOGIN,
                    json={"identifier": handle, "password": password},
                    follow_redirects=False,
                ) as raw:
                    content = bytearray()
                    async for chunk in raw.aiter_bytes():
                        content += chunk
                        if len(content) > self.settings.max_body_bytes:
                            raise SourceError(f"{where}: response too large")
                    resp = http.HttpResponse(
                        str(raw.url), raw.status_code, raw.headers, bytes(content), 0.0
                    )
        except TimeoutError:
            raise SourceError(f"{where}: timed out after {self.settings.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"{where}: {exc or type(exc).__name__}") from None
        if resp.status == 200:
            try:
                token = json.loads(resp.content).get("accessJwt")
            except (ValueError, UnicodeDecodeError, AttributeError):
                token = None
            if not isinstance(token, str) or not token:
                raise SourceError(f"{where}: unexpected answer (no session token): not a PDS?")
            return token
        error = _xrpc_error(resp.content)
        if resp.status == 429:
            raise SourceError(
                f"{where}: {http.status_error(resp)} (30 logins per 5 minutes, 300 a day "
                "per account: scan less often)"
            )
        if error == "AuthFactorTokenRequired":
            raise SourceError(
                f"{where}: the account asks for an e-mail code: put an app password "
                "(Settings > Privacy and security > App passwords) in "
                f"${self.config.option('app_password_env')}, not the account password"
            )
        if resp.status in (400, 401):
            named = f" {error}" if error else ""
            raise SourceError(
                f"{where}: refused (HTTP {resp.status}{named}): check the handle and the "
                f"app password in {self._variables()}"
            )
        raise SourceError(f"{where}: {http.status_error(resp)}")

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        token = await self._login(client)
        if token:
            root, headers = self.pds, {"Authorization": f"Bearer {token}"}
            hint = f"Bluesky refused the session of {self._variables()}: check the app password"
        else:
            root, headers, hint = self.appview, None, LOGIN_HINT
        cursor = load_cursor(state)
        items: dict[str, RawItem] = {}
        warnings: list[str] = []
        for query in self.queries:
            newest = parse_time(cursor.get(query))
            since = _iso(newest) if newest else None
            page_cursor: str | None = None
            for _ in range(self.settings.max_pages):
                params: dict[str, str | int] = {"q": query, "sort": "latest", "limit": PAGE_LIMIT}
                if since:
                    params["since"] = since
                if page_cursor:
                    params["cursor"] = page_cursor
                try:
                    data, resp = await get_json(
                        client,
                        root + SEARCH,
                        self.settings,
                        params=params,
                        headers=headers,
                        auth_hint=hint,
                    )
                except SourceError as exc:
                    raise SourceError(f"search {query!r}: {exc}") from None
                posts = data.get("posts") if isinstance(data, dict) else None
                if not isinstance(posts, list):
                    raise SourceError(f"search {query!r}: unexpected response: no `posts` list")
                for post in posts:
                    if not isinstance(post, dict):
                        continue
                    item = post_to_item(post)
                    if item is not None:
                        items.setdefault(item.external_id, item)
                    indexed = parse_time(post.get("indexedAt"))
                    if indexed is not None and (newest is None or indexed > newest):
                        newest = indexed
                if newest is not None:
                    cursor[query] = _iso(newest)
                # 3000 requests / 5 minutes per IP on the PDS: once it says none are left,
                # further searches would only collect 429s.
                if budget_spent(resp, "ratelimit-remaining"):
                    warnings.append(
                        "rate limit reached (ratelimit-remaining: 0): the rest waits for "
                        "the next scan"
                    )
                    return cursor_result(items, cursor, warnings)
                more = data.get("cursor")
                if not posts or not isinstance(more, str) or not more:
                    break
                if token is None:
                    # Anonymous requests with a cursor are refused outright.
                    if len(posts) >= PAGE_LIMIT:
                        warnings.append(
                            f"search {query!r}: only the newest {PAGE_LIMIT} posts; Bluesky "
                            "pages further only for logged-in searches (handle_env, "
                            "app_password_env)"
                        )
                    break
                page_cursor = more
            else:
                if since:
                    # A first scan is meant to stop at the cap; a later one leaves a gap.
                    warnings.append(
                        f"search {query!r}: more than {self.settings.max_pages} pages of new "
                        "posts since the last scan; older ones were skipped (scan more often "
                        "or raise settings.max_pages)"
                    )
        return cursor_result(items, cursor, warnings)
