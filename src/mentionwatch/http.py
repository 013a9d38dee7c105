"""The one HTTP client factory and the polite, bounded GET every adapter uses.

Bounded: a total deadline per attempt (a trickling server cannot hold a scan), a cap
on the *decoded* body (a gzip bomb stays small), a redirect limit. Polite: a
descriptive User-Agent, retries only for GET on 429/5xx/transport errors, with
capped exponential backoff that honours ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

import httpx

from . import PROJECT_URL, __version__
from .config import Settings
from .errors import SourceError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 30.0  # never sleep longer than this between attempts
MAX_REDIRECTS = 10


def default_user_agent() -> str:
    return f"mentionwatch/{__version__} (+{PROJECT_URL})"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    url: str  # after redirects
    status: int
    headers: httpx.Headers
    content: bytes
    seconds: float

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", ""))


def make_client(settings: Settings) -> httpx.AsyncClient:
    """One client per run: shared connection pool sized to the concurrency."""
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent or default_user_agent()},
        timeout=httpx.Timeout(settings.timeout),
        limits=httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=settings.concurrency,
        ),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_ts = time.time() if now is None else now
    return max(0.0, when.timestamp() - now_ts)


def describe_status(status: int) -> str:
    phrases = {
        401: "unauthorised (the source needs credentials)",
        403: "forbidden (blocked or needs credentials)",
        404: "not found",
        410: "gone: the source was removed; delete it from the config",
        429: "rate limited",
    }
    try:
        reason = phrases.get(status) or str(httpx.codes(status).name).replace("_", " ").lower()
    except ValueError:
        reason = "unexpected status"
    return f"HTTP {status} {reason}"


async def _attempt(
    client: httpx.AsyncClient,
    url: str,
    headers: Mapping[str, str] | None,
    params: Mapping[str, str | int] | None,
    settings: Settings,
) -> HttpResponse:
    started = time.perf_counter()
    async with asyncio.timeout(settings.timeout):
        async with client.stream("GET", url, headers=headers, params=params) as resp:
            chunks: list[bytes] = []
            size = 0
            # aiter_bytes yields *decoded* bytes, so the cap bounds what gzip expands to.
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise SourceError(
                        f"response larger than {settings.max_body_bytes:,} bytes: refused "
                        "(raise settings.max_body_bytes if this is expected)"
                    )
                chunks.append(chunk)
            return HttpResponse(
                url=str(resp.url),
                status=resp.status_code,
                headers=resp.headers,
                content=b"".join(chunks),
                seconds=time.perf_counter() - started,
            )


async def get(
    client: httpx.AsyncClient,
    url: str,
    settings: Settings,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str | int] | None = None,
) -> HttpResponse:
    """GET with retries. Returns any final response (the adapter judges its status);
    raises SourceError for transport failures that outlast the retries."""
    attempt = 0
    while True:
        delay: float | None
        try:
            resp = await _attempt(client, url, headers, params, settings)
        except TimeoutError:
            error = f"timed out after {settings.timeout:g}s"
            delay = None
        except httpx.TooManyRedirects:
            raise SourceError(f"too many redirects (more than {MAX_REDIRECTS})") from None
        except httpx.InvalidURL as exc:
            raise SourceError(f"invalid URL: {exc}") from None
        except httpx.UnsupportedProtocol as exc:
            raise SourceError(f"unsupported URL: {exc}") from None
        except httpx.ConnectError as exc:
            if _is_dns_failure(exc):
                # The name does not resolve: asking again in a second will not change that.
                raise SourceError(f"cannot resolve the host name: {exc}") from None
            error = f"cannot connect: {exc or type(exc).__name__}"
            delay = None
        except httpx.TimeoutException:
            error = f"timed out after {settings.timeout:g}s"
            delay = None
        except httpx.DecodingError as exc:
            raise SourceError(f"cannot decode the response: {exc}") from None
        except httpx.TransportError as exc:
            error = f"connection failed: {exc or type(exc).__name__}"
            delay = None
        else:
            if resp.status not in RETRY_STATUSES:
                return resp
            delay = retry_after_seconds(resp.headers.get("retry-after"))
            if delay is not None and delay > MAX_BACKOFF:
                # Waiting that long would hold the whole scan; report it instead.
                return resp
            if attempt >= settings.retries:
                return resp
            error = describe_status(resp.status)
        if attempt >= settings.retries:
            raise SourceError(error)
        attempt += 1
        await asyncio.sleep(min(MAX_BACKOFF, delay if delay is not None else 0.5 * 2**attempt))


def _is_dns_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def status_error(resp: HttpResponse) -> SourceError:
    """A clear error for a response the adapter cannot use."""
    message = describe_status(resp.status)
    wait = retry_after_seconds(resp.headers.get("retry-after"))
    if wait is not None:
        message += f"; retry after {wait:.0f}s"
    return SourceError(message)
