"""The one HTTP client factory and the polite, bounded GET every adapter uses.

Bounded: a total deadline per attempt (a trickling server cannot hold a scan), a cap
on the *decoded* body that also bounds memory while inflating (a gzip bomb stays
small), a redirect limit. Polite: a descriptive User-Agent, retries only for GET on
429/5xx/transport errors, with capped exponential backoff that honours
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

import httpx

from .. import PROJECT_URL, __version__
from ..config.model import Settings
from ..errors import SourceError

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
        # Only the codings _BoundedDecoder can inflate within the body cap.
        headers={
            "User-Agent": settings.user_agent or default_user_agent(),
            "Accept-Encoding": "gzip, deflate",
        },
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


class _BoundedDecoder:
    """Undo gzip/deflate content coding without ever holding more than ``limit`` bytes.

    httpx's own decoder inflates each network chunk in one go: 64 kB of a gzip bomb
    becomes 64 MB in memory before any cap can look at it. Here every inflate call
    is told how much room is left (``max_length``), so memory stays within the cap
    whatever the compression ratio.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        # Not asked for, but a body-less answer (a 304) may still name it: only a
        # body in it is an error.
        self.unknown = next((c for c in codings if c not in _WBITS), None)
        # Codings are listed in the order they were applied: undo them last to first.
        self.codings = [] if self.unknown else codings[::-1]
        self.stages = [zlib.decompressobj(_WBITS[c]) for c in self.codings]
        self.started = [False] * len(self.codings)

    def _inflate(self, index: int, data: bytes) -> bytes:
        room = self.limit - self.size + 1  # one byte over the cap is enough to refuse
        stage = self.stages[index]
        out: list[bytes] = []
        produced = 0
        pending = data
        try:
            while produced < room and not stage.eof:
                piece = stage.decompress(pending, room - produced)
                self.started[index] = True
                produced += len(piece)
                out.append(piece)
                pending = stage.unconsumed_tail
                if stage.eof and stage.unused_data[:2] == b"\x1f\x8b":
                    # Concatenated gzip members (RFC 1952 allows them): start afresh.
                    pending = stage.unused_data
                    stage = self.stages[index] = zlib.decompressobj(_WBITS[self.codings[index]])
                elif not piece and not pending:
                    break  # everything consumed and drained: wait for more input
        except zlib.error as exc:
            if self.codings[index] != "deflate" or self.started[index]:
                raise SourceError(f"cannot decode the response: {exc}") from None
            # "deflate" often arrives without its zlib wrapper (the very first bytes
            # fail to read as one): read it raw instead.
            self.codings[index] = "raw-deflate"
            self.stages[index] = zlib.decompressobj(_WBITS["raw-deflate"])
            return self._inflate(index, data)
        return b"".join(out)

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes of the next raw chunk; SourceError past the cap."""
        if self.unknown and data:
            raise SourceError(
                f"cannot decode the response: unsupported content encoding {self.unknown!r}"
            )
        for index in range(len(self.stages)):
            data = self._inflate(index, data)
        self.size += len(data)
        if self.size > self.limit:
            raise body_too_large(self.limit)
        return data


_WBITS = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
    "raw-deflate": -zlib.MAX_WBITS,
}


def body_too_large(limit: int) -> SourceError:
    return SourceError(
        f"response larger than {limit:,} bytes: refused "
        "(raise settings.max_body_bytes if this is expected)"
    )


async def _attempt(
    client: httpx.AsyncClient,
    url: str,
    headers: Mapping[str, str] | None,
    params: Mapping[str, str | int] | None,
    settings: Settings,
) -> HttpResponse:
    started = time.perf_counter()
    limit = settings.max_body_bytes
    # One deadline for everything (connect, redirects, headers, body): a server that
    # trickles a byte a second never trips a read timeout, but it does trip this.
    async with asyncio.timeout(settings.timeout):
        async with client.stream("GET", url, headers=headers, params=params) as resp:
            decoder = _BoundedDecoder(resp.headers.get("content-encoding", ""), limit)
            chunks: list[bytes] = []
            wire = 0
            # Raw bytes, decoded here: the cap bounds what gzip expands to, and so
            # does memory (see _BoundedDecoder).
            async for raw in resp.aiter_raw():
                wire += len(raw)
                if wire > limit:
                    raise body_too_large(limit)
                chunks.append(decoder.feed(raw))
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
            error = f"cannot connect: {_reason(exc)}"
            delay = None
        except httpx.TimeoutException:
            error = f"timed out after {settings.timeout:g}s"
            delay = None
        except httpx.DecodingError as exc:
            raise SourceError(f"cannot decode the response: {exc}") from None
        except httpx.RemoteProtocolError as exc:
            error = f"the server broke off the response: {_reason(exc)}"
            delay = None
        except httpx.TransportError as exc:
            error = f"connection failed: {_reason(exc)}"
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


def _reason(exc: BaseException) -> str:
    """The most telling words about a transport failure: httpx often wraps the real
    cause (a reset connection) in an exception with an empty message."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    seen = exc
    while seen is not None:
        if str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


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
