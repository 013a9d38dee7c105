"""A small threaded HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose.

Real HTTP servers used in tests (pytest-httpserver) are too well-behaved to hang,
trickle, reset a connection mid-body or send ten gigabytes: this one writes raw
bytes to the socket, so every fault a hostile or broken source can commit is
reproducible. The first path segment picks the handler (``/hang/anything`` hangs),
so an API adapter whose ``base_url`` points at ``/hang`` meets the same fault as a
feed URL does.

Also here: :func:`run_cli`, which runs ``mentionwatch`` as a real child process
(optionally on a pseudo-terminal) and reports its exit code, output, wall time and
peak memory; the fault, kill-and-resume and hostile-output tests share it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Self

__all__ = [
    "FAULTS",
    "FaultServer",
    "Finished",
    "Request",
    "feed_handler",
    "respond",
    "run_cli",
    "static",
]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names


@dataclass(slots=True)
class Ctx:
    """What a handler gets besides the socket: the request and the server's stop flag."""

    request: Request
    stop: threading.Event

    def wait(self, seconds: float) -> bool:
        """Sleep, but wake early when the server stops. True if it stopped."""
        return self.stop.wait(seconds)


Handler = Callable[[socket.socket, Ctx], None]

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def head(status: int, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Whatever')}"]
    merged = {"Connection": "close", "Date": formatdate(usegmt=True), **(headers or {})}
    lines += [f"{k}: {v}" for k, v in merged.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    conn: socket.socket, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> None:
    conn.sendall(head(status, {"Content-Length": str(len(body)), **(headers or {})}) + body)


# ------------------------------------------------------------------ the faults


def hang(conn: socket.socket, ctx: Ctx) -> None:
    """Accepts the connection, reads the request, never answers."""
    ctx.wait(3600)


def trickle(conn: socket.socket, ctx: Ctx) -> None:
    """The status line one byte at a time, a byte a second: every single read succeeds
    well within any read timeout, so only a total deadline ends it."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n<rss>":
        conn.sendall(bytes([byte]))
        if ctx.wait(1.0):
            return


def endless(conn: socket.socket, ctx: Ctx) -> None:
    """A chunked body that never ends, as fast as the client reads it."""
    conn.sendall(head(200, {"Content-Type": "application/rss+xml", "Transfer-Encoding": "chunked"}))
    chunk = b"<item><title>Acme</title></item>" * 2000
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while not ctx.stop.is_set():
        conn.sendall(frame)


HUGE_BYTES = 64 * 1024 * 1024


def huge(conn: socket.socket, ctx: Ctx) -> None:
    """An honest Content-Length of 64 MB, sent in full unless the client hangs up."""
    conn.sendall(
        head(200, {"Content-Type": "application/rss+xml", "Content-Length": str(HUGE_BYTES)})
    )
    block = b"<!-- " + b"x" * (1024 * 1024 - 9) + b" -->"
    for _ in range(HUGE_BYTES // len(block)):
        conn.sendall(block)


def _gzip_bomb_parts() -> tuple[bytes, bytes]:
    # After a full flush the deflate state restarts, so the compressed form of one
    # more megabyte of zeros is a self-contained block that can be repeated at will.
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    mb = b"\0" * (1024 * 1024)
    first = c.compress(mb) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(mb) + c.flush(zlib.Z_FULL_FLUSH)
    return first, block


GZIP_BOMB_GB = 10


def gzip_bomb(conn: socket.socket, ctx: Ctx) -> None:
    """10 GB of zeros as about 10 MB of gzip (the trailer is never reached)."""
    first, block = _gzip_bomb_parts()
    count = GZIP_BOMB_GB * 1024 - 1
    conn.sendall(
        head(
            200,
            {
                "Content-Type": "application/rss+xml",
                "Content-Encoding": "gzip",
                "Content-Length": str(len(first) + count * len(block)),
            },
        )
        + first
    )
    burst = block * 64
    for _ in range(count // 64):
        conn.sendall(burst)


def redirect_loop(conn: socket.socket, ctx: Ctx) -> None:
    """/loop/a -> /loop/b -> /loop/a ..."""
    target = "/loop/b" if ctx.request.path.endswith("/a") else "/loop/a"
    respond(conn, 302, b"", {"Location": target})


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Handler:
    def handler(conn: socket.socket, ctx: Ctx) -> None:
        respond(
            conn,
            code,
            body or f"error {code}".encode(),
            {"Content-Type": "text/plain", **(headers or {})},
        )

    return handler


def reset_mid_body(conn: socket.socket, ctx: Ctx) -> None:
    """Promises 100 kB, sends a little valid-looking XML, then a TCP reset (not a FIN)."""
    conn.sendall(
        head(200, {"Content-Type": "application/rss+xml", "Content-Length": "100000"})
        + b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>Acme"
    )
    ctx.wait(0.2)
    # SO_LINGER with a zero timeout turns close() into a RST.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def truncated(conn: socket.socket, ctx: Ctx) -> None:
    """Promises 100 kB, sends a little, then closes politely (FIN): a cut-off body."""
    conn.sendall(
        head(200, {"Content-Type": "application/rss+xml", "Content-Length": "100000"})
        + b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>Acme"
    )


def empty_200(conn: socket.socket, ctx: Ctx) -> None:
    respond(conn, 200, b"", {"Content-Type": "application/rss+xml"})


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    b"<body><h1>Checking your browser</h1><p>Acme</p></body></html>"
)


def html_page(conn: socket.socket, ctx: Ctx) -> None:
    respond(conn, 200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"})


# Malformed: an undefined entity and an unclosed tag; two items are recoverable.
MALFORMED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Broken</title>
<item><guid>https://broken.example/1</guid><link>https://broken.example/1</link>
<title>Acme survives &nbsp; broken feeds</title><description>Acme one</description></item>
<item><guid>https://broken.example/2</guid><link>https://broken.example/2</link>
<title>Second Acme item <b>unclosed</title><description>Acme two</description></item>
<item><title>trunc"""


def malformed(conn: socket.socket, ctx: Ctx) -> None:
    respond(conn, 200, MALFORMED, {"Content-Type": "application/rss+xml"})


# Latin-1 bytes, no charset in the Content-Type (text/xml, which RFC 3023 would even
# read as US-ASCII) and, in the second form, no encoding declaration either.
LATIN1_DECLARED = (
    "<?xml version='1.0' encoding='ISO-8859-1'?><rss version='2.0'><channel><title>Norsk</title>"
    "<item><guid>https://no.example/1</guid><link>https://no.example/1</link>"
    "<title>Blåbær fra Acme</title><description>Syltetøy med æ, ø og å</description></item>"
    "</channel></rss>"
).encode("latin-1")
LATIN1_UNDECLARED = (
    "<rss version='2.0'><channel><title>Norsk</title>"
    "<item><guid>https://no.example/2</guid><link>https://no.example/2</link>"
    "<title>Blåbær og Acme</title><description>Rødgrød</description></item>"
    "</channel></rss>"
).encode("latin-1")


UTF8_SAID_LATIN1 = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Norsk</title>"
    "<item><guid>https://no.example/3</guid><link>https://no.example/3</link>"
    "<title>Blåbær hos Acme</title><description>UTF-8, served as Latin-1</description></item>"
    "</channel></rss>"
).encode()


def latin1(conn: socket.socket, ctx: Ctx) -> None:
    """/latin1/declared, /latin1/undeclared: Latin-1 served as text/xml without a
    charset; /latin1/lying: Latin-1 served as UTF-8; /latin1/utf8: UTF-8 served as
    Latin-1 (the default of many web servers for text/*)."""
    path = ctx.request.path
    if "undeclared" in path:
        respond(conn, 200, LATIN1_UNDECLARED, {"Content-Type": "text/xml"})
    elif "lying" in path:
        body = LATIN1_UNDECLARED.replace(b"no.example/2", b"no.example/4")
        body = body.replace(b" og ", " hjå ".encode("latin-1"))
        respond(conn, 200, body, {"Content-Type": "text/xml; charset=utf-8"})
    elif "utf8" in path:
        respond(conn, 200, UTF8_SAID_LATIN1, {"Content-Type": "text/xml; charset=iso-8859-1"})
    else:
        respond(conn, 200, LATIN1_DECLARED, {"Content-Type": "text/xml"})


def xxe(secret_path: str, ssrf_url: str) -> Handler:
    """External entities pointing at a local file (as a general entity and as an
    external DTD) and at a URL (a parser that fetched it would request ``ssrf_url``)."""
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{secret_path}">'
        f'<!ENTITY % dtd SYSTEM "file://{secret_path}"> %dtd;'
        f'<!ENTITY % remote SYSTEM "{ssrf_url}"> %remote;'
        f'<!ENTITY ping SYSTEM "{ssrf_url}">]>'
        "<rss version='2.0'><channel><title>x</title>"
        "<item><guid>https://evil.example/xxe</guid><link>https://evil.example/xxe</link>"
        "<title>Acme &leak;</title><description>Acme &leak; &ping; end</description></item>"
        "</channel></rss>"
    ).encode()

    def handler(conn: socket.socket, ctx: Ctx) -> None:
        respond(conn, 200, body, {"Content-Type": "application/rss+xml"})

    return handler


def _billion_laughs() -> bytes:
    decl = ['<!ENTITY lol "lol">']
    decl += [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?><!DOCTYPE rss [' + "".join(decl) + "]>"
        "<rss version='2.0'><channel><title>x</title>"
        "<item><guid>https://evil.example/lol</guid><link>https://evil.example/lol</link>"
        "<title>Acme &lol9;</title><description>&lol9;</description></item>"
        "</channel></rss>"
    ).encode()


def entity_bomb(conn: socket.socket, ctx: Ctx) -> None:
    respond(conn, 200, _billion_laughs(), {"Content-Type": "application/rss+xml"})


# name -> handler; xxe needs a secret file and is added by the caller.
FAULTS: dict[str, Handler] = {
    "hang": hang,
    "trickle": trickle,
    "endless": endless,
    "huge": huge,
    "gzipbomb": gzip_bomb,
    "loop": redirect_loop,
    "notfound": status(404),
    "gone": status(410),
    "ratelimited": status(429, {"Retry-After": "3600"}),
    "unavailable": status(503, {"Retry-After": "120"}),
    "servererror": status(500),
    "reset": reset_mid_body,
    "truncated": truncated,
    "empty": empty_200,
    "html": html_page,
    "malformed": malformed,
    "latin1": latin1,
    "entitybomb": entity_bomb,
}


def static(body: bytes, headers: dict[str, str]) -> Handler:
    """Always the same response: for content-coding and other byte-exact cases."""

    def handler(conn: socket.socket, ctx: Ctx) -> None:
        respond(conn, 200, body, headers)

    return handler


def feed_handler(body: bytes, *, etag: str | None = None, delay: float = 0.0) -> Handler:
    """A healthy feed, optionally with an ETag (304 on a match) and a delay per request."""

    def handler(conn: socket.socket, ctx: Ctx) -> None:
        if delay and ctx.wait(delay):
            return
        if etag is not None and ctx.request.headers.get("if-none-match") == etag:
            respond(conn, 304, b"", {"ETag": etag})
            return
        headers = {"Content-Type": "application/rss+xml"}
        if etag is not None:
            headers["ETag"] = etag
        respond(conn, 200, body, headers)

    return handler


# ------------------------------------------------------------------ the server


@dataclass
class FaultServer:
    """``with FaultServer() as server: server.route("hang", hang); server.url("/hang/feed")``."""

    routes: dict[str, Handler] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, name: str, handler: Handler) -> None:
        self.routes[name] = handler

    def requests_to(self, name: str) -> list[Request]:
        return [r for r in self.log if r.path.split("/")[1:2] == [name]]

    def __enter__(self) -> Self:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()
        with self._lock:
            for conn in list(self._conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(5)
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(None)
            request = _read_request(conn)
            if request is None:
                return
            self.log.append(request)
            name = request.path.split("?")[0].split("/")[1]
            handler = self.routes.get(name)
            if handler is None:
                respond(conn, 404, b"no such route")
            else:
                handler(conn, Ctx(request, self._stop))
        except OSError:
            pass  # the client hung up: exactly what a capped or timed-out client does
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk or len(data) > 65536:
            return None
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method, path, headers)


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


# ------------------------------------------------------------------ the CLI as a real process


@dataclass(frozen=True, slots=True)
class Finished:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_bytes: int  # the child's own maximum resident set size


CLI = [sys.executable, "-c", "from mentionwatch.cli import main; main()"]


def start_cli(args: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`mentionwatch ARGS` as a child process (stdout and stderr piped)."""
    return subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def run_cli(
    args: list[str],
    *,
    tty: bool = False,
    tty_stdout: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Finished:
    """Run `mentionwatch ARGS` to the end; with ``tty`` its stderr is a terminal (a
    pseudo-terminal 200 columns wide), so it prints what people see: progress and
    the per-source summary. With ``tty_stdout`` stdout is that terminal too (the
    two then arrive merged, in ``stderr``)."""
    started = time.monotonic()
    master = slave = -1
    stderr_target: int = subprocess.PIPE
    if tty:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
        stderr_target = slave
    proc = subprocess.Popen(
        [*CLI, *args],
        stdout=slave if tty and tty_stdout else subprocess.PIPE,
        stderr=stderr_target,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []

    def drain(fd: int, into: list[bytes]) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                return
            if not chunk:
                return
            into.append(chunk)

    readers = []
    if proc.stdout is not None:
        readers.append(threading.Thread(target=drain, args=(proc.stdout.fileno(), out_chunks)))
    if tty:
        os.close(slave)
        readers.append(threading.Thread(target=drain, args=(master, err_chunks)))
    else:
        assert proc.stderr is not None
        readers.append(threading.Thread(target=drain, args=(proc.stderr.fileno(), err_chunks)))
    for reader in readers:
        reader.daemon = True
        reader.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        # wait4, not wait: it also returns the child's own resource usage.
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(10)
    if tty:
        os.close(master)
    if proc.stdout is not None:
        proc.stdout.close()
    if proc.stderr is not None:
        proc.stderr.close()
    return Finished(
        code=proc.returncode,
        stdout=b"".join(out_chunks).decode("utf-8", "replace"),
        stderr=b"".join(err_chunks).decode("utf-8", "replace"),
        seconds=time.monotonic() - started,
        peak_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports kilobytes
    )
