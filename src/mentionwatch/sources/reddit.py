"""Reddit: newest posts that name a keyword (site-wide search), and optionally every new
post of some subreddits, from Reddit's JSON listings.

Anonymous by default (``www.reddit.com/….json``, often blocked from cloud and VPN
addresses); with ``client_id_env`` + ``client_secret_env`` it takes an app-only OAuth
token and asks ``oauth.reddit.com`` instead. ``base_url`` replaces all three roots
(www, oauth and the token endpoint), so tests serve the whole exchange from one server.

Incremental: listings come newest first and have no "since" parameter, so the cursor
keeps, per search term and per subreddit, the newest post seen (fullname and
``created_utc``); the next scan pages (``after``) only until it meets that post or
anything older, capped at ``max_pages`` pages. ``before=<fullname>`` would look
cheaper, but it returns nothing at all once that post is deleted, silently stalling
the source; stopping at what we have seen cannot stall.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from .. import PROJECT_URL, __version__
from ..config.model import Settings, SourceConfig
from ..errors import SourceError
from ..models import FetchResult, RawItem, SourceState
from .base import SourceContext, register
from .common import (
    api_root,
    counters,
    cursor_result,
    env_secret,
    get_json,
    html_to_text,
    load_cursor,
    parse_time,
)

WWW = "https://www.reddit.com"
OAUTH = "https://oauth.reddit.com"
PERMALINK_ROOT = "https://www.reddit.com"  # permalinks are relative; the public site, always
PAGE_SIZE = 100  # Reddit's maximum `limit`
TOKEN_BODY_LIMIT = 64 * 1024
# What Reddit puts in place of an author or a body that is gone.
PLACEHOLDERS = frozenset({"[deleted]", "[removed]"})
SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
ANONYMOUS_HINT = (
    "Reddit blocks most anonymous API traffic (always from cloud and VPN addresses): "
    "create a 'script' app at https://www.reddit.com/prefs/apps and set "
    "client_id_env and client_secret_env"
)


def default_user_agent() -> str:
    # Reddit's required format is <platform>:<app id>:<version> (by /u/<user>). We do not
    # know the user, so the default points at the project; `user_agent` can name them.
    return f"python:mentionwatch:v{__version__} (+{PROJECT_URL})"


def post_to_item(post: dict[str, Any]) -> RawItem | None:
    name = post.get("name")
    permalink = post.get("permalink")
    if not isinstance(name, str) or not name or not isinstance(permalink, str):
        return None
    author = str(post.get("author") or "")
    selftext = str(post.get("selftext") or "")
    # A deleted or removed post keeps its title (often where the brand is named), so it
    # is kept; but "[deleted]" is nobody's name and "[removed]" nobody's words: as text
    # they would be matched and scored as if someone had written them.
    if author in PLACEHOLDERS:
        author = ""
    if selftext.strip() in PLACEHOLDERS:
        text = ""
    elif isinstance(post.get("selftext_html"), str):
        # raw_json=1 makes this real HTML: rendered Markdown, so links and emphasis
        # read as the words a person sees rather than as Markdown syntax.
        text = html_to_text(post["selftext_html"])
    else:
        text = selftext
    url = permalink if permalink.startswith("http") else PERMALINK_ROOT + permalink
    return RawItem(
        external_id=name,
        url=url,
        title=str(post.get("title") or ""),
        text=text,
        author=author,
        published=parse_time(post.get("created_utc")),
        lang=None,
        counters=counters(
            [
                ("score", post.get("score")),
                ("comments", post.get("num_comments")),
                ("subscribers", post.get("subreddit_subscribers")),
            ]
        ),
    )


def _created(post: dict[str, Any]) -> float | None:
    value = post.get("created_utc")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _mark(value: object) -> tuple[str, float] | None:
    """A remembered newest post (fullname, created_utc) from the cursor, if well-formed."""
    if not isinstance(value, dict):
        return None
    name, created = value.get("name"), value.get("created")
    if not isinstance(name, str) or isinstance(created, bool):
        return None
    if not isinstance(created, int | float):
        return None
    return name, float(created)


@dataclass(slots=True)
class _Scan:
    """What one fetch accumulates across its listings."""

    client: httpx.AsyncClient
    root: str
    suffix: str  # ".json" on www; oauth.reddit.com serves JSON on the bare path
    headers: dict[str, str]
    hint: str
    items: dict[str, RawItem] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    throttled: bool = False


@register
class RedditSource:
    type: ClassVar[str] = "reddit"
    options: ClassVar[tuple[str, ...]] = (
        "subreddits",
        "search",
        "client_id_env",
        "client_secret_env",
        "user_agent",
    )

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        subs = config.option("subreddits")
        if subs is not None and (
            not isinstance(subs, list)
            or not all(isinstance(s, str) and SUBREDDIT.fullmatch(_bare(s)) for s in subs)
        ):
            problems.append(("subreddits", "expected a list of subreddit names such as [gadgets]"))
        search = config.option("search", True)
        if not isinstance(search, bool):
            problems.append(("search", "expected true or false"))
        elif not search and not subs:
            problems.append(("search", "nothing to fetch: search is off and no subreddits"))
        for key in ("client_id_env", "client_secret_env", "user_agent"):
            value = config.option(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                problems.append((key, "expected a non-empty string"))
        has_id = config.option("client_id_env") is not None
        has_secret = config.option("client_secret_env") is not None
        if has_id != has_secret:
            missing = "client_secret_env" if has_id else "client_id_env"
            problems.append((missing, "missing: OAuth needs client_id_env and client_secret_env"))
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        self.config = config
        self.settings: Settings = context.settings
        self.terms = context.search_terms if config.option("search", True) else ()
        # Reddit names are case-insensitive: one spelling per subreddit, one cursor entry.
        self.subreddits = tuple(
            dict.fromkeys(_bare(s).lower() for s in config.option("subreddits") or ())
        )
        self.user_agent = str(config.option("user_agent") or default_user_agent())
        self.oauth = config.option("client_id_env") is not None
        # base_url stands for every Reddit host, so one fixture server sees it all.
        self.www = api_root(config, WWW)  # anonymous listings, and the token endpoint
        self.oauth_root = api_root(config, OAUTH)

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        cursor = load_cursor(state)
        headers = {"User-Agent": self.user_agent}
        if self.oauth:
            headers["Authorization"] = f"bearer {await self._access_token(client)}"
            id_var = self.config.option("client_id_env")
            secret_var = self.config.option("client_secret_env")
            hint = f"Reddit refused the OAuth token: check the app in ${id_var} / ${secret_var}"
            scan = _Scan(client, self.oauth_root, "", headers, hint)
        else:
            scan = _Scan(client, self.www, ".json", headers, ANONYMOUS_HINT)

        searches = _section(cursor, "search")
        for term in self.terms:
            # Reddit search has no hashtags or handles: the bare word finds them.
            params: dict[str, str | int] = {
                "q": term.lstrip("#@"),
                "sort": "new",
                "limit": PAGE_SIZE,
                "raw_json": 1,
            }
            mark = await self._listing(scan, "/search", params, _mark(searches.get(term)), "")
            if mark is not None:
                searches[term] = {"name": mark[0], "created": mark[1]}

        subs = _section(cursor, "subreddits")
        for sub in self.subreddits:
            params = {"limit": PAGE_SIZE, "raw_json": 1}
            mark = await self._listing(scan, f"/r/{sub}/new", params, _mark(subs.get(sub)), sub)
            if mark is not None:
                subs[sub] = {"name": mark[0], "created": mark[1]}

        for key, section in (("search", searches), ("subreddits", subs)):
            if section:
                cursor[key] = section
        return cursor_result(scan.items, cursor, scan.warnings)

    async def _listing(
        self,
        scan: _Scan,
        path: str,
        params: dict[str, str | int],
        seen: tuple[str, float] | None,
        sub: str,
    ) -> tuple[str, float] | None:
        """Page one listing newest first until what ``seen`` marks; the new newest mark."""
        newest = seen
        hint = f"r/{sub} may be private or quarantined, or: {scan.hint}" if sub else scan.hint
        after: str | None = None
        for _ in range(self.settings.max_pages):
            if scan.throttled:
                break
            page_params = dict(params)
            if after:
                page_params["after"] = after
            url = f"{scan.root}{path}{scan.suffix}"
            data, resp = await get_json(
                scan.client,
                url,
                self.settings,
                params=page_params,
                headers=scan.headers,
                auth_hint=hint,
            )
            if sub and urlsplit(resp.url).path.rstrip("/") != urlsplit(url).path.rstrip("/"):
                # Reddit answers an unknown subreddit with a redirect to subreddit search.
                raise SourceError(f"r/{sub} does not exist (Reddit redirected to {resp.url})")
            self._note_rate_limit(scan, resp.headers)
            listing = data.get("data") if isinstance(data, dict) else None
            children = listing.get("children") if isinstance(listing, dict) else None
            if not isinstance(listing, dict) or not isinstance(children, list):
                raise SourceError("unexpected response from Reddit: not a listing")
            reached = False
            for child in children:
                post = child.get("data") if isinstance(child, dict) else None
                if not isinstance(post, dict) or child.get("kind") != "t3":
                    continue
                created = _created(post)
                # Sort "new" is newest first, so the first post we know (or anything
                # older) means the rest was seen by an earlier scan. A post from the
                # same second that we do not know yet is still taken.
                if seen is not None and (
                    post.get("name") == seen[0] or (created is not None and created < seen[1])
                ):
                    reached = True
                    continue
                item = post_to_item(post)
                if item is None:
                    continue
                scan.items.setdefault(item.external_id, item)
                if created is not None and (newest is None or created > newest[1]):
                    newest = (item.external_id, created)
            after = listing.get("after") if isinstance(listing.get("after"), str) else None
            if reached or not after or not children:
                break
        return newest

    def _note_rate_limit(self, scan: _Scan, headers: httpx.Headers) -> None:
        # Reddit counts every request against a 10-minute budget and says what is left;
        # spending the last of it only earns 429s for this and every other scan.
        try:
            remaining = float(headers.get("x-ratelimit-remaining", "inf"))
        except ValueError:
            return
        if remaining < 1 and not scan.throttled:
            scan.throttled = True
            reset = headers.get("x-ratelimit-reset", "?")
            scan.warnings.append(
                f"Reddit rate limit used up (resets in {reset}s): stopped early, "
                "the rest waits for the next scan"
            )

    async def _access_token(self, client: httpx.AsyncClient) -> str:
        """An app-only ("client credentials") OAuth token: read-only access to public data."""
        id_var = self.config.option("client_id_env")
        secret_var = self.config.option("client_secret_env")
        client_id = env_secret(self.config, "client_id_env")
        secret = env_secret(self.config, "client_secret_env")
        if client_id is None or secret is None:  # validate() requires both: defensive
            raise SourceError("Reddit OAuth needs both client_id_env and client_secret_env")
        url = f"{self.www}/api/v1/access_token"
        try:
            # A POST, so not through http.get (whose retries are for GETs); the body is
            # tiny, so a small cap keeps a misbehaving server from feeding us megabytes.
            async with asyncio.timeout(self.settings.timeout):
                async with client.stream(
                    "POST",
                    url,
                    data={"grant_type": "client_credentials"},
                    auth=(client_id, secret),
                    headers={"User-Agent": self.user_agent},
                ) as resp:
                    body = b""
                    async for chunk in resp.aiter_bytes():
                        body += chunk
                        if len(body) > TOKEN_BODY_LIMIT:
                            raise SourceError("Reddit token endpoint: response too large")
                    status = resp.status_code
        except TimeoutError:
            raise SourceError(
                f"Reddit token request timed out after {self.settings.timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(f"Reddit token request failed: {exc or type(exc).__name__}") from None
        if status in (400, 401, 403):
            raise SourceError(
                f"Reddit refused the app credentials (HTTP {status}): "
                f"check ${id_var} and ${secret_var} (a 'script' app's id and secret)"
            )
        if status != 200:
            raise SourceError(f"Reddit token endpoint answered HTTP {status}")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise SourceError("Reddit token endpoint: not JSON (blocked?)") from None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            error = data.get("error") if isinstance(data, dict) else None
            raise SourceError(
                f"Reddit gave no access token ({error or 'no reason given'}): "
                f"check ${id_var} and ${secret_var}"
            )
        return token


def _bare(name: str) -> str:
    """A subreddit name without the r/ or /r/ people often write in front of it."""
    name = name.strip().strip("/")
    return name[2:] if name.lower().startswith("r/") else name


def _section(cursor: dict[str, Any], key: str) -> dict[str, Any]:
    value = cursor.get(key)
    return dict(value) if isinstance(value, dict) else {}
