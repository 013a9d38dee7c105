"""Hostile and broken sources, all at once: one scan over every fault plus healthy feeds.

The scan runs as a real `mentionwatch scan` process against tests/faultserver.py on
127.0.0.1, so what is measured is what cron would see: the exit code, the lines on
stderr, what reached the database, the process's own peak memory and its wall time.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import sqlite3
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.sources import http

from .conftest import rss
from .faultserver import FAULTS, Ctx, FaultServer, feed_handler, respond, run_cli, static, xxe

SECRET = "TOPSECRET-4711-do-not-leak"
TIMEOUT = 2  # settings.timeout for the scan: the per-request deadline
WALL_BOUND = 30.0  # a functional bound (the run ends), not a benchmark
# A bomb must not inflate memory: far below what one would take, above a normal scan's
# peak (~150 MB of it is the language identifier's model, loaded on the first post).
MEMORY_BOUND = 400 * 1024 * 1024

HEALTHY = {
    f"healthy{n}": rss(
        *(
            (f"h{n}-{i}", f"https://healthy{n}.example/{i}", f"Acme news {n}.{i}|Acme is fine {i}.")
            for i in range(5)
        )
    )
    for n in range(3)
}

# Refused at the cap, or (on a machine too busy to read 5 MB within the deadline)
# at the deadline: bounded either way. test_size_faults_hit_the_cap pins the cap.
TOO_BIG = rf"response larger than 5,242,880 bytes: refused|timed out after {TIMEOUT}s"
# source name -> (path on the fault server, source type, what its error must say)
FAILING: dict[str, tuple[str, str, str]] = {
    "hang": ("/hang/feed.xml", "rss", rf"timed out after {TIMEOUT}s"),
    "trickle": ("/trickle/feed.xml", "rss", rf"timed out after {TIMEOUT}s"),
    "endless": ("/endless/feed.xml", "rss", TOO_BIG),
    "huge": ("/huge/feed.xml", "rss", TOO_BIG),
    "gzipbomb": ("/gzipbomb/feed.xml", "rss", TOO_BIG),
    "loop": ("/loop/a", "rss", r"too many redirects \(more than 10\)"),
    "notfound": ("/notfound/feed.xml", "rss", r"HTTP 404 not found"),
    "gone": ("/gone/feed.xml", "rss", r"HTTP 410 gone: the source was removed; delete it"),
    "ratelimited": ("/ratelimited/feed.xml", "rss", r"HTTP 429 rate limited; retry after 3600s"),
    "unavailable": (
        "/unavailable/feed.xml",
        "rss",
        r"HTTP 503 service unavailable; retry after 120s",
    ),
    "servererror": ("/servererror/feed.xml", "rss", r"HTTP 500 internal server error"),
    "reset": ("/reset/feed.xml", "rss", r"connection failed: connection reset by the server"),
    "truncated": (
        "/truncated/feed.xml",
        "rss",
        r"the server broke off the response: peer closed connection without sending complete",
    ),
    "empty": ("/empty/feed.xml", "rss", r"not a feed: empty body"),
    "html": ("/html/feed.xml", "rss", r"not a feed: got an HTML page"),
    # API adapters meet the same faults through the same client.
    "hn-hang": ("/hang", "hackernews", rf"timed out after {TIMEOUT}s"),
    "masto-html": ("/html", "mastodon", r"got an HTML page where JSON was expected"),
    "reddit-bomb": ("/gzipbomb", "reddit", TOO_BIG),
    "web-huge": ("/huge/page.html", "web", TOO_BIG),
}
# Readable after all: stored, with a warning where something was wrong.
RECOVERED: dict[str, tuple[str, set[str], str | None]] = {
    "malformed": (
        "/malformed/feed.xml",
        {"Acme survives broken feeds", "Second Acme item unclosed"},
        "malformed",
    ),
    "latin1": ("/latin1/declared.xml", {"Blåbær fra Acme"}, None),
    "latin1-bare": ("/latin1/undeclared.xml", {"Blåbær og Acme"}, None),
    "latin1-lying": ("/latin1/lying.xml", {"Blåbær hjå Acme"}, "declared utf-8, read as"),
    "utf8-as-latin1": ("/latin1/utf8.xml", {"Blåbær hos Acme"}, None),
    "xxe": ("/xxe/feed.xml", {"Acme &leak;"}, "entity declarations removed"),
    "entitybomb": ("/entitybomb/feed.xml", {"Acme &lol9;"}, "entity declarations removed"),
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FaultServer]:
    secret = tmp_path / "secret.txt"
    secret.write_text(f'<!ENTITY leak "{SECRET}">{SECRET}\n')
    with FaultServer() as srv:
        for name, handler in FAULTS.items():
            srv.route(name, handler)
        srv.route("xxe", xxe(str(secret), srv.url("/ssrf/entity.dtd")))
        for name, body in HEALTHY.items():
            srv.route(name, feed_handler(body, etag=f'"{name}-v1"'))
        yield srv


def _config(srv: FaultServer, write_config: Callable[[str], Path]) -> Path:
    lines = [f'  - {{name: {n}, url: "{srv.url(f"/{n}/feed.xml")}"}}' for n in HEALTHY]
    for name, (path, kind, _) in FAILING.items():
        key = "url" if kind in ("rss", "web") else "base_url"
        extra = ", tags: [acme]" if kind == "mastodon" else ""
        lines.append(f'  - {{name: {name}, type: {kind}, {key}: "{srv.url(path)}"{extra}}}')
    for name, (path, _, _) in RECOVERED.items():
        lines.append(f'  - {{name: {name}, url: "{srv.url(path)}"}}')
    return write_config(
        f"""\
database: m.db
settings:
  timeout: {TIMEOUT}
  retries: 0
  concurrency: 32
  concurrency_per_host: 32
  max_pages: 1
brands:
  - {{name: Acme, keywords: [Acme]}}
sources:
"""
        + "\n".join(lines)
        + "\n"
    )


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def _plain(terminal_text: str) -> str:
    return _ANSI.sub("", terminal_text)


def test_one_scan_over_every_fault(
    server: FaultServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = _config(server, write_config)

    # First run on a terminal: what a person sees, every source by name.
    first = run_cli(["scan", "-c", str(config)], tty=True)
    assert first.code == 1, first.stdout + first.stderr
    assert first.seconds < WALL_BOUND
    assert first.peak_rss_bytes < MEMORY_BOUND, f"{first.peak_rss_bytes / 2**20:.0f} MB"
    assert "Traceback" not in first.stderr
    screen = _plain(first.stderr)
    rows = {line.split("│")[1].strip(): line for line in screen.splitlines() if line.count("│") > 6}
    for name, (_, _, message) in FAILING.items():
        assert name in rows, f"{name} missing from the summary:\n{screen}"
        assert "error" in rows[name]
        assert re.search(message, rows[name]), rows[name]
    for name, (_, _, warning) in RECOVERED.items():
        # Kept what it could, but said so: status "warning" (issue 13), else "ok".
        assert (" warning " if warning else " ok ") in rows[name], rows[name]
        if warning:
            assert warning in rows[name], rows[name]
    for name in HEALTHY:
        assert " ok " in rows[name], rows[name]
    assert f"{15 + 8} new mention(s) from {len(HEALTHY) + len(FAILING) + len(RECOVERED)}" in screen

    db = sqlite3.connect(tmp_path / "m.db")
    titles_by_source: dict[str, set[str]] = {}
    for source, title in db.execute(
        "SELECT p.source, p.title FROM mentions m JOIN posts p ON p.id = m.post_id"
    ):
        titles_by_source.setdefault(source, set()).add(title)
    for name in HEALTHY:
        n = name.removeprefix("healthy")
        assert titles_by_source[name] == {f"Acme news {n}.{i}" for i in range(5)}
    for name, (_, titles, _) in RECOVERED.items():
        assert titles_by_source[name] == titles, name
    assert not set(titles_by_source) & set(FAILING)
    # What `mentionwatch sources` (and cron's eyes) read: each failure kept by name.
    errors = dict(db.execute("SELECT name, last_error FROM sources WHERE last_status = 'error'"))
    assert set(errors) == set(FAILING)
    for name, (_, _, message) in FAILING.items():
        assert re.search(message, errors[name]), (name, errors[name])
    db.close()
    # The local file named by the external entity never reached the store.
    for path in tmp_path.glob("m.db*"):
        assert SECRET.encode() not in path.read_bytes()
    # ...nor was the URL named by the other external entities ever requested.
    assert server.requests_to("ssrf") == []
    # Redirect loop: followed a bounded number of times, not forever.
    assert len(server.requests_to("loop")) == 11

    # Second run without a terminal (cron): failures on stderr one line each, nothing
    # stored twice, healthy feeds answered with 304 thanks to their stored ETags.
    second = run_cli(["scan", "-c", str(config)])
    assert second.code == 1
    assert second.seconds < WALL_BOUND
    assert second.peak_rss_bytes < MEMORY_BOUND
    lines = second.stderr.splitlines()
    # ...and the recovered sources that warned in both runs: persistent trouble.
    warned = {name: warning for name, (_, _, warning) in RECOVERED.items() if warning}
    assert len(lines) == len(FAILING) + len(warned), second.stderr
    for name, warning in warned.items():
        prefix = f"warning: source {name} (also in the previous run): "
        line = next(line for line in lines if line.startswith(prefix))
        assert warning in line, line
    for name, (_, _, message) in FAILING.items():
        line = next(line for line in lines if line.startswith(f"error: source {name}: "))
        assert re.search(message, line), line
    assert second.stdout == ""  # nothing new
    db = sqlite3.connect(tmp_path / "m.db")
    assert db.execute("SELECT count(*) FROM mentions").fetchone() == (23,)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    for name in HEALTHY:
        assert [r.headers.get("if-none-match") for r in server.requests_to(name)] == [
            None,
            f'"{name}-v1"',
        ]


# ------------------------------------------------------------------ single faults up close


def _get(url: str, settings: Settings) -> http.HttpResponse:
    async def go() -> http.HttpResponse:
        async with http.make_client(settings) as client:
            return await http.get(client, url, settings)

    return asyncio.run(go())


def test_503_with_retry_after_is_retried_after_the_wait(server: FaultServer) -> None:
    calls: list[float] = []

    def flaky(conn: object, ctx: Ctx) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            respond(conn, 503, b"busy", {"Retry-After": "1"})  # type: ignore[arg-type]
        else:
            respond(conn, 200, HEALTHY["healthy0"])  # type: ignore[arg-type]

    server.route("flaky", flaky)
    resp = _get(server.url("/flaky/feed.xml"), Settings(retries=2, timeout=5))
    assert resp.status == 200
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.9


def test_500_is_retried_then_reported(server: FaultServer) -> None:
    resp = _get(server.url("/servererror/x"), Settings(retries=2, timeout=5))
    assert resp.status == 500
    assert len(server.requests_to("servererror")) == 3
    assert str(http.status_error(resp)) == "HTTP 500 internal server error"


def test_retries_never_outlast_their_deadlines(server: FaultServer) -> None:
    # Each attempt has its own total deadline; with retries the bound is their sum
    # plus the capped backoff, never "forever".
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"timed out after 1s"):
        _get(server.url("/trickle/x"), Settings(retries=1, timeout=1))
    assert time.monotonic() - started < 1 + 1 + 1 + 3  # two attempts, one backoff, slack


@pytest.mark.parametrize("fault", ["endless", "huge", "gzipbomb"])
def test_size_faults_hit_the_cap(server: FaultServer, fault: str) -> None:
    assert Settings().max_body_bytes == 5 * 1024 * 1024  # the default: a few MB
    with pytest.raises(SourceError, match=r"^response larger than 5,242,880 bytes: refused"):
        _get(server.url(f"/{fault}/x"), Settings(retries=0, timeout=30))


@pytest.mark.parametrize("limit", [1024 * 1024, 5 * 1024 * 1024])
def test_gzip_bomb_is_capped_on_decompressed_bytes(server: FaultServer, limit: int) -> None:
    with pytest.raises(SourceError, match=f"larger than {limit:,} bytes"):
        _get(server.url("/gzipbomb/x"), Settings(retries=0, timeout=30, max_body_bytes=limit))


def test_connection_reset_mid_body_is_a_clean_error(server: FaultServer) -> None:
    with pytest.raises(SourceError) as caught:
        _get(server.url("/reset/x"), Settings(retries=0, timeout=5))
    assert str(caught.value) == "connection failed: connection reset by the server"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data)


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


FEED = HEALTHY["healthy1"]


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (FEED, None),
        (FEED, "identity"),
        (_gzip(FEED), "gzip"),
        (_gzip(FEED), "x-gzip"),
        (_gzip(FEED[:100]) + _gzip(FEED[100:]), "gzip"),  # two gzip members
        (_gzip(FEED) + b"trailing junk", "gzip"),
        (zlib.compress(FEED), "deflate"),
        (_raw_deflate(FEED), "deflate"),  # "deflate" without the zlib wrapper, as IIS sent it
        (_gzip(zlib.compress(FEED)), "deflate, gzip"),  # applied in the order listed
    ],
)
def test_content_codings_are_decoded(
    server: FaultServer, body: bytes, encoding: str | None
) -> None:
    headers = {"Content-Type": "application/rss+xml"}
    if encoding:
        headers["Content-Encoding"] = encoding
    server.route("coded", static(body, headers))
    resp = _get(server.url("/coded/feed.xml"), Settings(retries=0, timeout=5))
    assert resp.content == FEED
    assert server.log[-1].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        (b"\x1f\x8b\x08\x00garbage-garbage", "gzip", "cannot decode the response: "),
        (FEED, "br", "cannot decode the response: unsupported content encoding 'br'"),
        (FEED, "gzip", "cannot decode the response: "),  # says gzip, is not
    ],
)
def test_undecodable_bodies_are_clear_errors(
    server: FaultServer, body: bytes, encoding: str, message: str
) -> None:
    server.route("coded", static(body, {"Content-Encoding": encoding}))
    with pytest.raises(SourceError, match=f"^{re.escape(message)}"):
        _get(server.url("/coded/feed.xml"), Settings(retries=0, timeout=5))


def test_an_unknown_coding_without_a_body_is_no_error(server: FaultServer) -> None:
    def not_modified(conn: object, ctx: Ctx) -> None:
        respond(conn, 304, b"", {"Content-Encoding": "br"})  # type: ignore[arg-type]

    server.route("same", not_modified)
    resp = _get(server.url("/same/feed.xml"), Settings(retries=0, timeout=5))
    assert (resp.status, resp.content) == (304, b"")


def test_inflating_stays_within_the_cap_in_memory(server: FaultServer) -> None:
    # httpx's decoder inflates a whole network chunk at once (64 kB of this bomb is
    # 64 MB); ours never holds more than the cap.
    limit = 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(SourceError, match="larger than"):
            _get(server.url("/gzipbomb/x"), Settings(retries=0, timeout=10, max_body_bytes=limit))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * limit


def test_many_bombs_at_once_cost_about_the_cap_each(
    server: FaultServer, write_config: Callable[[str], Path]
) -> None:
    def scan(paths: list[str]) -> int:
        sources = "".join(f'  - "{server.url(p)}"\n' for p in paths)
        config = write_config(
            "database: m.db\nsettings: {timeout: 10, retries: 0, concurrency_per_host: 16}\n"
            f"keywords: [Acme]\nsources:\n{sources}"
        )
        return run_cli(["scan", "-c", str(config)]).peak_rss_bytes

    baseline = scan(["/healthy0/feed.xml"])
    bombs = scan([f"/gzipbomb/{i}.xml" for i in range(8)])
    # Eight bodies of at most 5 MB each, plus copies while joining: well under 8 x 15 MB.
    # (Inflating a network chunk at a time cost about 60 MB per bomb.)
    assert bombs - baseline < 8 * 15 * 1024 * 1024, f"{(bombs - baseline) / 2**20:.0f} MB"
