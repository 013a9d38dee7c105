"""What API adapters share: JSON over the polite GET, secrets from the environment,
JSON cursors, time parsing, reach counters. No adapter-specific knowledge here."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ..config.model import Settings, SourceConfig
from ..errors import SourceError
from ..models import FetchResult, RawItem, SourceState
from ..textutil import html_to_text
from ..timeutil import parse_rfc822
from . import http

__all__ = [
    "api_root",
    "budget_spent",
    "counters",
    "cursor_result",
    "decode_json",
    "dump_cursor",
    "env_secret",
    "get_json",
    "html_to_text",
    "json_body",
    "load_cursor",
    "looks_like_html",
    "parse_time",
]


def api_root(config: SourceConfig, default: str) -> str:
    """The API root: ``base_url`` from the config (tests, self-hosted) or the public one.

    The same meaning for every adapter: scheme and host, plus an optional path prefix,
    that stand in for the real host; the adapter appends the real API's own path
    (``/2.3/search/advanced``, ``/api/v1/search_by_date``, ``/xrpc/...``)."""
    return (config.base_url or default).rstrip("/")


def env_secret(config: SourceConfig, key: str) -> str | None:
    """The secret named by option ``key`` (e.g. ``token_env: GITHUB_TOKEN``), or None
    when the option is absent. Named but unset is an error: the user asked for auth."""
    name = config.option(key)
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise SourceError(f"{key}: expected the name of an environment variable")
    value = os.environ.get(name)
    if not value:
        raise SourceError(f"{key}: environment variable {name} is not set")
    return value


def looks_like_html(resp: http.HttpResponse) -> bool:
    """An HTML page (a block, captcha or login page) where data was expected."""
    head = resp.content[:512].lstrip().lower()
    return "text/html" in resp.content_type or head.startswith(
        (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<")
    )


def json_body(content: bytes) -> Any:
    """The parsed JSON of a body, or None when it is not JSON. Never raises: for
    reading the explanation an API puts in an error response."""
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def decode_json(resp: http.HttpResponse, *, service: str = "the API") -> Any:
    """The JSON of a response whose status the caller has judged: an HTML page where
    JSON was expected (how many APIs say "blocked") or malformed JSON is a SourceError."""
    if looks_like_html(resp):
        raise SourceError(
            f"blocked or not {service}: got an HTML page where JSON was expected "
            f"(HTTP {resp.status})"
        )
    try:
        return json.loads(resp.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"malformed JSON from {service}: {exc}") from None


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    settings: Settings,
    *,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
    auth_hint: str = "",
) -> tuple[Any, http.HttpResponse]:
    """GET a JSON document. Any status but 200, an HTML page where JSON was expected
    (how many APIs say "blocked"), or malformed JSON is a clear SourceError."""
    resp = await http.get(client, url, settings, params=params, headers=headers)
    if resp.status != 200:
        error = http.status_error(resp)
        if resp.status in (401, 403) and auth_hint:
            raise SourceError(f"{error}; {auth_hint}")
        raise error
    return decode_json(resp, service="an API"), resp


def cursor_result(
    items: Mapping[str, RawItem], cursor: Mapping[str, Any], warnings: Iterable[str] = ()
) -> FetchResult:
    """What an API adapter returns: its items (keyed by id, so each once), the JSON
    cursor for next time, and anything the user should hear about."""
    return FetchResult(
        items=tuple(items.values()),
        state=SourceState(cursor=dump_cursor(cursor)),
        warnings=tuple(warnings),
    )


def budget_spent(resp: http.HttpResponse, header: str) -> bool:
    """The API says no requests are left (``X-RateLimit-Remaining: 0`` and kin):
    asking again now would only earn 429s."""
    remaining = resp.headers.get(header, "").strip()
    return remaining.isdigit() and int(remaining) == 0


def load_cursor(state: SourceState) -> dict[str, Any]:
    """The adapter's cursor as a dict ({} when new or unreadable: start afresh)."""
    if not state.cursor:
        return {}
    try:
        value = json.loads(state.cursor)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def dump_cursor(cursor: Mapping[str, Any]) -> str:
    return json.dumps(dict(cursor), sort_keys=True, separators=(",", ":"))


def parse_time(value: object) -> datetime | None:
    """Unix seconds (int, float or digits), ISO 8601 (Z, offset, or none = UTC) or
    RFC 822, to an aware UTC datetime; None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC).replace(microsecond=0)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.replace(".", "", 1).isdigit():
        return parse_time(float(text))
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        # An RFC 822 date; None for a zone it does not know rather than a guess of UTC.
        found = parse_rfc822(text)
        if found is None:
            return None
        dt = found
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0)


def counters(pairs: Iterable[tuple[str, object]]) -> tuple[tuple[str, int], ...]:
    """Raw reach counters under their own names; missing or non-numeric ones left out."""
    out = []
    for name, value in pairs:
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        out.append((name, int(value)))
    return tuple(out)
