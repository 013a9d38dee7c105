"""GitHub issues and pull requests naming a keyword, through the REST ``/search/issues``.

One search per keyword and kind (``is:issue``, ``is:pr``), newest first, with any extra
qualifiers from the config (``org:acme``, ``in:title,body``...).

Incremental: the cursor keeps, per search (keyword + kind + qualifiers), the newest
``created_at`` seen; the next scan adds ``created:>=<that time>`` to the query, so it
asks only for what is new (inclusive: nothing created in the same second is lost, what
was seen before is recognised and skipped). Pages are followed through the ``Link``
header up to ``settings.max_pages``, and never past GitHub's 1,000 results per query.

Polite: the search bucket is small (10 requests a minute without a token, 30 with
one). When a response says none are left, the scan stops before asking again and keeps
what it found, with a warning; a search refused for the limit is an error naming the
reset time and ``token_env``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from ..config.model import SourceConfig
from ..errors import SourceError
from ..models import FetchResult, RawItem, SourceState
from ..textutil import normalize_space
from . import http
from .base import SourceContext, register
from .common import api_root, counters, dump_cursor, env_secret, json_body, load_cursor, parse_time

API = "https://api.github.com"
PATH = "/search/issues"
PER_PAGE = 100
MAX_RESULTS = 1000  # GitHub serves no more than this per query, whatever the page
KINDS = {"issue": "is:issue", "pr": "is:pr"}
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Invisible on the rendered page (issue templates are full of them): not part of the post.
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_MAX_MESSAGE = 300


def issue_to_item(issue: dict[str, Any]) -> RawItem | None:
    """One issue or pull request as a RawItem; None without an id or a page to open."""
    issue_id = issue.get("id")
    html_url = issue.get("html_url")
    if isinstance(issue_id, bool) or not isinstance(issue_id, int | str) or not html_url:
        return None
    user = issue.get("user")
    user = user if isinstance(user, dict) else {}
    reactions = issue.get("reactions")
    reactions = reactions if isinstance(reactions, dict) else {}
    # The body is Markdown, which reads fine as plain text; it is null when left empty.
    body = _HTML_COMMENT.sub("", str(issue.get("body") or ""))
    return RawItem(
        external_id=str(issue_id),
        url=str(html_url),
        title=normalize_space(str(issue.get("title") or "")),
        text=normalize_space(body),
        author=str(user.get("login") or ""),
        published=parse_time(issue.get("created_at")),
        lang=None,
        counters=counters(
            [("comments", issue.get("comments")), ("reactions", reactions.get("total_count"))]
        ),
    )


def search_text(term: str) -> str:
    """A keyword as GitHub search text: quoted when it has spaces (a phrase) or a colon
    (which would read as a qualifier). Sigils go: the search ignores them anyway."""
    text = term.lstrip("#@").replace('"', " ").strip()
    if not text:
        return ""
    if any(c.isspace() for c in text) or ":" in text:
        return f'"{" ".join(text.split())}"'
    return text


def _has_next_page(link_header: str | None) -> bool:
    """Whether a ``Link`` header (RFC 8288) offers a ``rel="next"`` page."""
    for part in (link_header or "").split(","):
        rel = re.search(r'rel="?([^";]*)', part)
        if rel and "next" in rel.group(1).split():
            return True
    return False


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(TIME_FORMAT)


def _message(content: bytes) -> str:
    """GitHub's own explanation from an error body (``message`` and the first of
    ``errors``), or ""."""
    data = json_body(content)
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("message") or "").strip()]
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        parts.append(str(errors[0].get("message") or "").strip())
    text = normalize_space(": ".join(p for p in parts if p))
    return text[:_MAX_MESSAGE]


class _RateLimited(SourceError):
    """The search was refused for going over the rate limit."""


@dataclass
class _Scan:
    """What one fetch collected, and whether it has to stop asking."""

    items: dict[str, RawItem] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    answered: int = 0  # requests that returned results
    # Set when a response said no search request is left before this epoch second.
    exhausted_until: float | None = None
    stopped: bool = False


@register
class GitHubSource:
    type: ClassVar[str] = "github"
    options: ClassVar[tuple[str, ...]] = ("kinds", "qualifiers", "token_env")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        kinds = config.option("kinds")
        if kinds is not None:
            listed = [kinds] if isinstance(kinds, str) else kinds
            if not isinstance(listed, list) or not listed or any(k not in KINDS for k in listed):
                problems.append(("kinds", "expected a list of: issue, pr"))
        qualifiers = config.option("qualifiers")
        if qualifiers is not None and not (
            isinstance(qualifiers, str)
            or (isinstance(qualifiers, list) and all(isinstance(q, str) for q in qualifiers))
        ):
            problems.append(("qualifiers", "expected search qualifiers such as 'org:acme'"))
        token_env = config.option("token_env")
        if token_env is not None and (not isinstance(token_env, str) or not token_env):
            problems.append(("token_env", "expected the name of an environment variable"))
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        self.url = api_root(config, API) + PATH
        self.settings = context.settings
        self.token_env = config.option("token_env")
        self.token = env_secret(config, "token_env")
        self.headers = dict(HEADERS)
        if self.token:
            self.headers["Authorization"] = f"Bearer {self.token}"
        kinds = config.option("kinds", list(KINDS))
        chosen = {kinds} if isinstance(kinds, str) else set(kinds)
        qualifiers = config.option("qualifiers") or ""
        if isinstance(qualifiers, list):
            qualifiers = " ".join(qualifiers)
        extra = " ".join(str(qualifiers).split())
        # Each search is one keyword and one kind: GitHub wants is:issue or is:pr in
        # every query, and each has its own 1,000-result window.
        searches: dict[str, str] = {}
        for term in context.search_terms:
            text = search_text(term)
            if not text:
                continue
            for kind, qualifier in KINDS.items():
                if kind in chosen:
                    query = " ".join(p for p in (text, qualifier, extra) if p)
                    searches.setdefault(query.casefold(), query)
        self.searches = tuple(searches.values())
        self.max_pages = min(self.settings.max_pages, MAX_RESULTS // PER_PAGE)

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        cursor = load_cursor(state)
        scan = _Scan()
        for position, query in enumerate(self.searches):
            if not scan.stopped:
                self._out_of_requests(scan)
            if scan.stopped:
                skipped = ", ".join(repr(q) for q in self.searches[position:])
                scan.warnings.append(f"not searched this time: {skipped}")
                break
            since = parse_time(cursor.get(query))
            try:
                newest = await self._search(client, query, since, scan)
            except _RateLimited as exc:
                if not scan.answered:
                    raise
                # Keep what the earlier requests found (their searches' cursors
                # advance); this search and the rest are asked again next time.
                scan.warnings.append(f"{exc} (while searching {query!r}): stopped searching")
                scan.stopped = True
                continue
            if newest is not None:
                cursor[query] = newest.strftime(TIME_FORMAT)
        return FetchResult(
            items=tuple(scan.items.values()),
            state=SourceState(etag=None, last_modified=None, cursor=dump_cursor(cursor)),
            warnings=tuple(scan.warnings),
        )

    async def _search(
        self, client: httpx.AsyncClient, query: str, since: datetime | None, scan: _Scan
    ) -> datetime | None:
        """Page through one search; the newest creation time to remember for it (None:
        leave the cursor as it was)."""
        q = query if since is None else f"{query} created:>={since.strftime(TIME_FORMAT)}"
        newest = since
        for page in range(1, self.max_pages + 1):
            if page > 1 and self._out_of_requests(scan):
                # Cut short before reaching what was seen: keep the old cursor so the
                # next scan asks for the same window again (duplicates are skipped)
                # rather than jump over what was not fetched yet.
                return since
            params: dict[str, str | int] = {
                "q": q,
                "sort": "created",
                "order": "desc",
                "per_page": PER_PAGE,
                "page": page,
            }
            data, resp = await self._get(client, params)
            scan.answered += 1
            scan.exhausted_until = self._exhausted_until(resp)
            issues = data.get("items")
            if not isinstance(issues, list):
                raise SourceError("unexpected response from the GitHub search API: no `items` list")
            if data.get("incomplete_results") is True:
                scan.warnings.append(
                    f"GitHub's search timed out for {q!r} (page {page}): results may be incomplete"
                )
            for issue in issues:
                if not isinstance(issue, dict):
                    continue
                item = issue_to_item(issue)
                if item is not None:
                    scan.items.setdefault(item.external_id, item)
                created = parse_time(issue.get("created_at"))
                if created is not None and (newest is None or created > newest):
                    newest = created
            if not issues or not _has_next_page(resp.headers.get("link")):
                return newest
        if since is not None:
            reason = (
                f"GitHub returns at most {MAX_RESULTS:,} results per query"
                if self.max_pages * PER_PAGE >= MAX_RESULTS
                else "raise settings.max_pages or scan more often"
            )
            scan.warnings.append(
                f"more than {self.max_pages * PER_PAGE:,} new results for {query!r}: "
                f"older ones were skipped ({reason})"
            )
        return newest

    def _out_of_requests(self, scan: _Scan) -> bool:
        """True (and a warning) when the last response said no search request is left
        before the limit resets: asking anyway would only earn a 403."""
        until, scan.exhausted_until = scan.exhausted_until, None
        if until is None or until <= time.time():
            return False
        scan.warnings.append(
            f"no GitHub search requests left until {_utc(until)}: stopped searching{self._hint()}"
        )
        scan.stopped = True
        return True

    def _hint(self) -> str:
        if self.token:
            return ""
        return "; set token_env to a variable holding a GitHub token for 30 searches a minute"

    @staticmethod
    def _exhausted_until(resp: http.HttpResponse) -> float | None:
        """The reset epoch when the response says no search request is left."""
        if resp.headers.get("x-ratelimit-remaining", "").strip() != "0":
            return None
        reset = resp.headers.get("x-ratelimit-reset", "").strip()
        # Without a reset time, assume the one-minute window of the search bucket.
        return float(reset) if reset.isdigit() else time.time() + 60

    async def _get(
        self, client: httpx.AsyncClient, params: dict[str, str | int]
    ) -> tuple[dict[str, Any], http.HttpResponse]:
        resp = await http.get(client, self.url, self.settings, params=params, headers=self.headers)
        if resp.status != 200:
            raise self._status_error(resp)
        if "text/html" in resp.content_type or resp.content.lstrip().startswith(b"<"):
            raise SourceError(
                "blocked or not an API: got an HTML page where JSON was expected "
                f"(HTTP {resp.status})"
            )
        try:
            data = json.loads(resp.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SourceError(f"malformed JSON from the GitHub search API: {exc}") from None
        if not isinstance(data, dict):
            raise SourceError("unexpected response from the GitHub search API: not an object")
        return data, resp

    def _status_error(self, resp: http.HttpResponse) -> SourceError:
        base = str(http.status_error(resp))
        detail = _message(resp.content)
        said = f": {detail}" if detail else ""
        if resp.status in (403, 429):
            until = self._exhausted_until(resp)
            if until is not None:
                wait = max(0, round(until - time.time()))
                return _RateLimited(
                    f"GitHub search rate limit used up (HTTP {resp.status}); it resets at "
                    f"{_utc(until)} (in {wait}s){self._hint()}"
                )
            if resp.status == 429 or "retry-after" in resp.headers or "rate limit" in said.lower():
                # A secondary rate limit: too many requests too fast.
                return _RateLimited(f"{base}{said}")
        if resp.status in (401, 403):
            if self.token:
                hint = f"check the GitHub token in ${self.token_env} (wrong, expired, no access)"
            else:
                hint = "set token_env to a variable holding a GitHub token"
            return SourceError(f"{base}{said}; {hint}")
        if resp.status == 422:
            query = httpx.URL(resp.url).params.get("q", "")
            return SourceError(f"GitHub rejected the search {query!r}{said} (check qualifiers)")
        return SourceError(f"{base}{said}")
