"""Stack Exchange (Stack Overflow and its sister sites) through ``/2.3/search/advanced``:
questions whose text names a keyword, newest first.

Incremental: the cursor keeps, per search term, the newest ``creation_date`` seen; the
next scan asks only for questions from that second on (``fromdate`` is inclusive, so
nothing created in the same second is lost; what was seen before is recognised and
skipped) and pages while ``has_more`` says so, up to ``settings.max_pages``.

Polite: the API may add ``backoff`` (seconds) to any response, and then no request to
the same method may follow before it elapses. A short one (the usual ``backoff: 1``)
is waited out and the scan goes on, up to ``MAX_BACKOFF_WAIT`` seconds of waiting in
all; a longer one stops the scan at once with a warning and is remembered in the
cursor so that a scan started too early makes no request at all. The daily quota
(300 requests per IP without an app key) is watched through ``quota_remaining``.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
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
    decode_json,
    dump_cursor,
    env_secret,
    html_to_text,
    json_body,
    load_cursor,
    looks_like_html,
    parse_time,
)

API = "https://api.stackexchange.com"
METHOD = "/2.3/search/advanced"
PAGE_SIZE = 100
# An API site parameter ("stackoverflow", "superuser", "pt.stackoverflow") or a site's
# domain ("unix.stackexchange.com"): letters, digits, dots and hyphens.
SITE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
# The error_id the API uses for "too many requests" (per IP, per key or per method).
THROTTLE_ERROR_ID = 502
# The most a scan waits in all for the API's ``backoff`` before deferring to the next run.
MAX_BACKOFF_WAIT = 30.0


class _Throttled(SourceError):
    """The API refused a request for going too fast or over quota."""


def question_to_item(question: dict[str, Any]) -> RawItem | None:
    """One question as a RawItem; None when it has no id or no link to open."""
    question_id = question.get("question_id")
    link = question.get("link")
    if isinstance(question_id, bool) or not isinstance(question_id, int | str) or not link:
        return None
    owner = question.get("owner")
    owner = owner if isinstance(owner, dict) else {}
    return RawItem(
        external_id=str(question_id),
        url=str(link),
        # Titles and names come entity-encoded ("safe" filters): decode them, and the
        # body is HTML.
        title=html_to_text(str(question.get("title") or "")),
        text=html_to_text(str(question.get("body") or "")),
        # A deleted user (user_type "does_not_exist") still has a display name such
        # as "user123"; an absent owner gives "".
        author=html_to_text(str(owner.get("display_name") or "")),
        published=parse_time(question.get("creation_date")),
        lang=None,
        counters=counters(
            [
                ("score", question.get("score")),
                ("views", question.get("view_count")),
                ("answers", question.get("answer_count")),
                ("reputation", owner.get("reputation")),
            ]
        ),
    )


def _api_error(data: object) -> tuple[int | None, str, str] | None:
    """(error_id, error_name, error_message) when ``data`` is the API's error wrapper."""
    if not isinstance(data, dict) or "error_id" not in data:
        return None
    error_id = data.get("error_id")
    return (
        error_id if isinstance(error_id, int) and not isinstance(error_id, bool) else None,
        str(data.get("error_name") or "unknown_error"),
        str(data.get("error_message") or "").strip(),
    )


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Scan:
    """What one fetch collected, and whether the API told it to stop asking."""

    items: dict[str, RawItem] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stopped: bool = False
    answered: int = 0  # requests that returned results
    pause: float = 0.0  # seconds the API asked for before the next request
    waited: float = 0.0  # seconds already spent waiting in this fetch


@register
class StackExchangeSource:
    type: ClassVar[str] = "stackexchange"
    options: ClassVar[tuple[str, ...]] = ("site", "key_env", "tagged")

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        site = config.option("site")
        if site is not None and (not isinstance(site, str) or not SITE_PATTERN.fullmatch(site)):
            problems.append(
                ("site", "expected a Stack Exchange site such as 'stackoverflow' or 'superuser'")
            )
        key_env = config.option("key_env")
        if key_env is not None and (not isinstance(key_env, str) or not key_env):
            problems.append(("key_env", "expected the name of an environment variable"))
        tagged = config.option("tagged")
        if tagged is not None and not (
            (isinstance(tagged, str) and tagged.strip())
            or (
                isinstance(tagged, list)
                and tagged
                and all(isinstance(t, str) and t.strip() for t in tagged)
            )
        ):
            problems.append(("tagged", "expected a tag or a list of tags, e.g. [python, acme]"))
        return problems

    def __init__(self, config: SourceConfig, context: SourceContext) -> None:
        self.url = api_root(config, API) + METHOD
        self.settings = context.settings
        self.site = str(config.option("site", "stackoverflow"))
        self.key_env = config.option("key_env")
        self.key = env_secret(config, "key_env")
        tagged = config.option("tagged")
        tags = [tagged] if isinstance(tagged, str) else list(tagged or [])
        # The API takes a semicolon list; with several tags a question must carry all.
        self.tagged = ";".join(t.strip() for t in tags if t.strip())
        # The search has no notion of #hashtags or @handles; our matcher still tells
        # them apart afterwards. One query per distinct word saves the small quota.
        queries: dict[str, str] = {}
        for term in context.search_terms:
            query = term.lstrip("#@").strip()
            if query:
                queries.setdefault(query.casefold(), query)
        self.queries = tuple(queries.values())

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult:
        cursor = load_cursor(state)
        since = cursor.get("since")
        since = dict(since) if isinstance(since, dict) else {}
        backoff_until = cursor.get("backoff_until")
        now = time.time()
        if isinstance(backoff_until, int | float) and backoff_until > now:
            # A previous scan was told to back off and that time has not passed yet.
            warning = (
                f"the Stack Exchange API asked to wait until {_utc(backoff_until)} "
                "before searching again: nothing fetched this time"
            )
            return FetchResult(items=(), state=state, warnings=(warning,))
        cursor.pop("backoff_until", None)

        scan = _Scan()
        for position, query in enumerate(self.queries):
            if scan.stopped:
                skipped = ", ".join(repr(q) for q in self.queries[position:])
                scan.warnings.append(f"not searched this time: {skipped}")
                break
            seen = since.get(query)
            if not isinstance(seen, int) or isinstance(seen, bool):
                seen = None  # a first run for this term (or an unreadable cursor)
            try:
                newest = await self._search(client, query, seen, scan, cursor)
            except _Throttled as exc:
                if not scan.answered:
                    raise
                # Keep what the earlier requests found (their terms' cursors advance);
                # this term and the rest are asked again next time.
                scan.warnings.append(f"{exc} (while searching {query!r}): stopped searching")
                scan.stopped = True
                continue
            if newest is not None:
                since[query] = newest
        cursor["since"] = since
        if scan.pause and not scan.stopped:
            # The last answer asked for a pause and no request followed: a scan
            # started within it must still respect it.
            cursor["backoff_until"] = int(time.time() + scan.pause) + 1
        return FetchResult(
            items=tuple(scan.items.values()),
            state=SourceState(etag=None, last_modified=None, cursor=dump_cursor(cursor)),
            warnings=tuple(scan.warnings),
        )

    async def _search(
        self,
        client: httpx.AsyncClient,
        query: str,
        since: int | None,
        scan: _Scan,
        cursor: dict[str, Any],
    ) -> int | None:
        """Page through one query's results; the cursor value to keep for it (None:
        leave it as it was)."""
        newest = since
        for page in range(1, self.settings.max_pages + 1):
            params: dict[str, str | int] = {
                "site": self.site,
                "q": query,
                "sort": "creation",
                "order": "desc",
                "pagesize": PAGE_SIZE,
                "page": page,
                "filter": "withbody",
            }
            if since is not None:
                params["fromdate"] = since
            if self.tagged:
                params["tagged"] = self.tagged
            if self.key:
                params["key"] = self.key
            if scan.pause:
                await asyncio.sleep(scan.pause)  # as the API asked: then carry on
                scan.waited += scan.pause
                scan.pause = 0.0
            data = await self._get(client, params)
            scan.answered += 1
            questions = data.get("items")
            if not isinstance(questions, list):
                raise SourceError(
                    "unexpected response from the Stack Exchange API: no `items` list"
                )
            for question in questions:
                if not isinstance(question, dict):
                    continue
                item = question_to_item(question)
                if item is not None:
                    scan.items.setdefault(item.external_id, item)
                created = question.get("creation_date")
                if isinstance(created, int) and (newest is None or created > newest):
                    newest = created
            has_more = data.get("has_more") is True and bool(questions)
            self._obey_limits(data, scan, cursor)
            if not has_more:
                return newest
            if scan.stopped:
                # Cut short before reaching what was seen: keep the old cursor so the
                # next scan asks for the same window again (duplicates are skipped),
                # rather than jump over the questions not fetched yet.
                return since
        if since is not None:
            scan.warnings.append(
                f"more than {self.settings.max_pages} pages of new questions for {query!r}: "
                "older ones were skipped (raise settings.max_pages or scan more often)"
            )
        return newest

    def _obey_limits(self, data: dict[str, Any], scan: _Scan, cursor: dict[str, Any]) -> None:
        backoff = data.get("backoff")
        if isinstance(backoff, int | float) and not isinstance(backoff, bool) and backoff > 0:
            if scan.waited + scan.pause + float(backoff) <= MAX_BACKOFF_WAIT:
                scan.pause = max(scan.pause, float(backoff))  # waited out before the next
                self._obey_quota(data, scan)
                return
            until = time.time() + float(backoff)
            cursor["backoff_until"] = int(until) + 1
            scan.warnings.append(
                f"the Stack Exchange API asked for a {backoff:g}s pause before the next "
                f"search (until {_utc(until)}): stopped paging"
            )
            scan.stopped = True
        self._obey_quota(data, scan)

    def _obey_quota(self, data: dict[str, Any], scan: _Scan) -> None:
        remaining = data.get("quota_remaining")
        if remaining == 0 and not isinstance(remaining, bool):
            quota = data.get("quota_max")
            hint = "" if self.key else "; set key_env to an app key for 10,000 a day"
            scan.warnings.append(
                f"the daily Stack Exchange quota ({quota} requests) is used up until "
                f"midnight UTC: stopped searching{hint}"
            )
            scan.stopped = True

    async def _get(self, client: httpx.AsyncClient, params: dict[str, str | int]) -> dict[str, Any]:
        resp = await http.get(client, self.url, self.settings, params=params)
        # Errors come as a JSON wrapper (HTTP 400 mostly) that says far more than the
        # status line: bad_parameter, throttle_violation, access_denied...
        error = _api_error(None if looks_like_html(resp) else json_body(resp.content))
        if error is not None:
            kind = _Throttled if error[0] == THROTTLE_ERROR_ID else SourceError
            raise kind(self._describe_error(*error))
        if resp.status == 429:
            raise _Throttled(str(http.status_error(resp)))
        if resp.status != 200:
            raise http.status_error(resp)
        data = decode_json(resp, service="the Stack Exchange API")
        if not isinstance(data, dict):
            raise SourceError("unexpected response from the Stack Exchange API: not an object")
        return data

    def _describe_error(self, error_id: int | None, name: str, message: str) -> str:
        text = f"Stack Exchange API error {error_id if error_id is not None else '?'} {name}"
        if message:
            text += f": {html_to_text(message)}"
        if error_id == THROTTLE_ERROR_ID and not self.key:
            text += " (without an app key the quota is 300 requests a day per IP: set key_env)"
        elif name in ("access_denied", "key_required", "invalid_access_token") and self.key_env:
            text += f" (check the app key in ${self.key_env})"
        return text
