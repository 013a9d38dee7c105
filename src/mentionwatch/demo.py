"""The built-in demo: bundled sample feeds served on 127.0.0.1, so a first run needs
no network and no config, yet goes through the real fetch path (HTTP, ETag, parsing)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any, ClassVar

from .config.loader import Config
from .configure import parse_config

_TYPES = {
    ".xml": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
}


def _feeds() -> dict[str, bytes]:
    root = files("mentionwatch").joinpath("data/demo")
    return {f"/{p.name}": p.read_bytes() for p in root.iterdir() if p.is_file()}


class _Handler(BaseHTTPRequestHandler):
    feeds: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.feeds.get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        suffix = self.path[self.path.rfind(".") :]
        self.send_header("Content-Type", _TYPES.get(suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo's output is the scan, not an access log."""


@contextmanager
def serve_demo_feeds() -> Iterator[str]:
    """Serve the bundled feeds on an ephemeral loopback port; yields the base URL."""
    handler = type("DemoHandler", (_Handler,), {"feeds": _feeds()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_config_text(base_url: str) -> str:
    """The demo's YAML, its sources pointing at ``base_url``."""
    text = files("mentionwatch").joinpath("data/demo.yaml").read_text(encoding="utf-8")
    return text.replace("{base}", base_url)


def demo_config(base_url: str) -> Config:
    return parse_config(demo_config_text(base_url), filename="demo.yaml")
