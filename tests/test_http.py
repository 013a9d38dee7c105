"""The shared GET against real servers on 127.0.0.1: retries, caps and deadlines."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.sources import http


def _get(url: str, settings: Settings, **kw: object) -> http.HttpResponse:
    async def go() -> http.HttpResponse:
        async with http.make_client(settings) as client:
            return await http.get(client, url, settings, **kw)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_user_agent_is_descriptive(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ua").respond_with_handler(
        lambda r: Response(r.headers.get("User-Agent", ""))
    )
    resp = _get(httpserver.url_for("/ua"), Settings())
    assert resp.content.decode().startswith("mentionwatch/0.1.0 (+https://")


def test_retries_on_429_honouring_retry_after(httpserver: HTTPServer) -> None:
    calls: list[float] = []

    def handler(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response("ok")

    httpserver.expect_request("/r").respond_with_handler(handler)
    resp = _get(httpserver.url_for("/r"), Settings(retries=2))
    assert resp.status == 200
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.9  # waited as asked


def test_long_retry_after_is_reported_not_waited(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r").respond_with_data(
        "no", status=429, headers={"Retry-After": "3600"}
    )
    resp = _get(httpserver.url_for("/r"), Settings(retries=3))
    assert resp.status == 429
    assert str(http.status_error(resp)) == "HTTP 429 rate limited; retry after 3600s"
    assert len(httpserver.log) == 1


def test_gives_up_after_retries_on_500(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/e").respond_with_data("x", status=503)
    resp = _get(httpserver.url_for("/e"), Settings(retries=1))
    assert resp.status == 503
    assert len(httpserver.log) == 2


def test_body_cap_applies_to_decompressed_bytes(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)  # ~10 KB on the wire, 10 MB inflated
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(SourceError, match="larger than 1,048,576 bytes"):
        _get(httpserver.url_for("/bomb"), Settings(max_body_bytes=1024 * 1024))


@pytest.fixture
def trickle_server() -> Iterator[str]:
    """Answers headers, then one body byte a second, forever: only a total deadline helps."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            try:
                while not stop.is_set():
                    conn.sendall(b"x")
                    time.sleep(0.5)
            except OSError:
                pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/feed"
    stop.set()
    thread.join(2)
    sock.close()


def test_total_deadline_beats_a_trickling_server(trickle_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"timed out after 1\.5s"):
        _get(trickle_server, Settings(timeout=1.5, retries=0))
    assert time.monotonic() - started < 10  # generous: the point is it ends at all


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("  5 ", 5.0), ("soon", None), (None, None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)  # fmt: skip
def test_retry_after_parsing(value: str | None, expected: float | None) -> None:
    assert http.retry_after_seconds(value, now=1445412480.0 + 0) == expected
