"""Benchmark: a full ``mentionwatch`` scan and a re-scan against the loop a user would write.

Generates N feeds x M items (RSS 2.0, every tenth feed Atom; about a fifth of the items
mention a brand, others carry look-alike decoys such as ``Acmeville``, ``acme.com/path`` and
``Globexx``), serves them from 127.0.0.1 in a separate process (ThreadingHTTPServer with
ETags, so a repeated request with ``If-None-Match`` gets a 304), and times in one run:

* a full scan through the library API (``pipeline.scan``, concurrency 16, the default
  sentiment engine, or ``--engine``);
* a re-scan of the same database (every source should answer 304 Not Modified);
* the straightforward script: a sequential loop of ``feedparser.parse(url)``, a regex per
  keyword, ``TextBlob`` polarity per hit and one ``sqlite-utils`` upsert per mention; run
  twice, the second time over the database it filled (it has no conditional GET). The
  re-scan ratio compares against that second run.

With ``--dense`` the farm is what a news-search or social source returns: about 90% of the
posts name a brand and about 40% name two, so every post costs a match, a sentiment
score and a stored row. The loop scores each hit with TextBlob once per brand it finds.

Targets: full scan at least 5x faster than the loop, re-scan at least 30x faster. It also
times ``mentionwatch.sources.feeds.parse_feed`` against ``feedparser.parse`` over the same bodies
(no HTTP) and checks that both see the same entries in every feed.

    python benchmarks/scan_bench.py               # 500 feeds x 50 items
    python benchmarks/scan_bench.py --quick       # 50 feeds x 20 items
    python benchmarks/scan_bench.py --skip-naive  # only the mentionwatch figures
    python benchmarks/scan_bench.py --repeat 3    # medians of 3 runs each (noisy machines)
    python benchmarks/scan_bench.py --naive-once  # reuse the naive figure for its re-run
    python benchmarks/scan_bench.py --dense --feeds 200   # every post a mention
    python benchmarks/scan_bench.py --dense --feeds 200 --skip-naive --into BIG.db --repeat 5
        # also the same scan into a copy of BIG.db and into an empty store, back to back
        # in each round: each round's ratio, and their median (target <= 1.3x)
    python benchmarks/scan_bench.py --dense --feeds 5000 --items 10 --skip-naive --cli
        # also the real `mentionwatch scan` command in a process of its own: its time
        # and the peak memory of that process and of each scoring worker (target <= 200 MB)

The exit status is always 0: this is a report; missed targets are printed as FAIL lines.
"""

from __future__ import annotations

import argparse
import email.utils
import gc
import hashlib
import importlib.metadata
import importlib.util
import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import feedparser
import sqlite_utils
from textblob import TextBlob

from mentionwatch import pipeline
from mentionwatch.config.loader import Config
from mentionwatch.configure import parse_config
from mentionwatch.sources import feeds
from mentionwatch.store import db as store

FULL_TARGET = 5.0
RESCAN_TARGET = 30.0
INTO_TARGET = 1.3  # a scan into a 1M-mention store against the same into an empty one
SEED = 20261121

BRANDS: dict[str, tuple[str, ...]] = {
    "Acme": ("Acme", "Acme Corp", "#acme"),
    "Globex": ("Globex",),
    "Initech": ("Initech",),
}
MENTIONS = ("Acme", "Acme Corp", "Globex", "Initech", "#acme", "ACME's", "(Acme)")
DECOYS = (
    "Acmeville",
    '<a href="https://acme.com/path/to/page">this link</a>',
    "acme.com/path",
    "Globexx",
    "Initechnology",
)
_PROSE = (
    "the new release shipped today with a faster checkout and a cleaner settings page "
    "customers reported that delivery was late again but support answered quickly "
    "our team compared three laptops over a week of commuting travel and office work "
    "battery life was great although the screen felt dim outdoors in bright sunlight "
    "pricing changed for the annual plan and several readers asked about refunds "
    "the update broke sync on older phones which is frustrating for everyone involved "
    "we really love the design of the box but hate the plastic inside it "
    "analysts expect the market to grow during the next quarter despite supply issues "
    "a local shop in the city centre opened a second store near the station"
)
WORDS = tuple(_PROSE.split())


# --------------------------------------------------------------------------- feeds


@dataclass(frozen=True, slots=True)
class Feed:
    path: str
    body: bytes
    content_type: str
    entries: int


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + rng.choice((".", ".", ".", "!", "?"))


def _insert(rng: random.Random, sentence: str, phrase: str) -> str:
    words = sentence.split(" ")
    words.insert(rng.randint(0, len(words)), phrase)
    return " ".join(words)


def _item_html(rng: random.Random, mention: str | None, decoy: str | None) -> str:
    """An HTML description of roughly 300-800 characters."""
    target = rng.randint(300, 800)
    paragraphs: list[str] = []
    size = 0
    while size < target - 60:
        sentences = [_sentence(rng) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            sentences[0] = sentences[0].replace(" and ", " <em>and</em> ", 1)
        if rng.random() < 0.2:
            sentences[-1] += ' See <a href="https://example.org/more">more &amp; details</a>.'
        para = " ".join(sentences)
        paragraphs.append(para)
        size += len(para) + 7
    if mention is not None:
        i = rng.randrange(len(paragraphs))
        paragraphs[i] = _insert(rng, paragraphs[i], mention)
    if decoy is not None:
        i = rng.randrange(len(paragraphs))
        paragraphs[i] = _insert(rng, paragraphs[i], decoy)
    return "".join(f"<p>{p}</p>" for p in paragraphs)


# A second brand for a dense post: another company than the first mention names.
SECOND = {"Acme": ("Globex", "Initech"), "Globex": ("Acme", "Initech"), "Initech": ("Acme",)}


def _brand_of(mention: str) -> str:
    return next(b for b in BRANDS if b.casefold() in mention.casefold().replace("#", ""))


def _entry(rng: random.Random, dense: bool = False) -> tuple[str, str]:
    """(title, html): about 20% name a brand (dense: 90%, 40% of all posts naming two),
    about 15% carry a look-alike decoy."""
    mention = rng.choice(MENTIONS) if rng.random() < (0.9 if dense else 0.2) else None
    decoy = rng.choice(DECOYS) if rng.random() < 0.15 else None
    title = _sentence(rng)[:70].rstrip(" .!?")
    second = None
    if dense and mention is not None and rng.random() < 0.45:
        second = rng.choice(SECOND[_brand_of(mention)])
    if mention is not None and rng.random() < 0.3:
        title = _insert(rng, title, mention)
        mention = None if rng.random() < 0.5 else mention
    html = _item_html(rng, mention, decoy)
    if second is not None:  # in its own paragraph: the clause around it speaks of it
        html += f"<p>{_insert(rng, _sentence(rng), second)}</p>"
    return title, html


def _rss(rng: random.Random, n: int, items: int, now: datetime, dense: bool) -> bytes:
    host = f"news{n}.example.com"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n',
        f"<title>Example news {n}</title>\n<link>https://{host}/</link>\n",
        f"<description>Posts from site {n}</description>\n<language>en</language>\n",
    ]
    for j in range(items):
        title, html = _entry(rng, dense)
        when = now - timedelta(minutes=rng.randint(1, 60 * 24 * 14))
        body = f"<![CDATA[{html}]]>" if j % 2 else escape(html)
        out.append(
            "<item>\n"
            f"<title>{escape(title)}</title>\n"
            f"<link>https://{host}/posts/{j}-{rng.randrange(10**6)}</link>\n"
            f'<guid isPermaLink="false">urn:bench:{n}:{j}</guid>\n'
            f"<pubDate>{email.utils.format_datetime(when, usegmt=True)}</pubDate>\n"
            f"<author>writer{rng.randint(1, 40)}@{host} (Writer {rng.randint(1, 40)})</author>\n"
            f"<description>{body}</description>\n"
            "</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def _atom(rng: random.Random, n: int, items: int, now: datetime, dense: bool) -> bytes:
    host = f"blog{n}.example.net"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n',
        f"<title>Example blog {n}</title>\n<id>urn:bench:blog:{n}</id>\n",
        f'<link href="https://{host}/"/>\n<updated>{now.isoformat()}</updated>\n',
    ]
    for j in range(items):
        title, html = _entry(rng, dense)
        when = (now - timedelta(minutes=rng.randint(1, 60 * 24 * 14))).isoformat()
        out.append(
            "<entry>\n"
            f"<title>{escape(title)}</title>\n"
            f"<id>urn:bench:{n}:{j}</id>\n"
            f'<link rel="alternate" href="https://{host}/{j}-{rng.randrange(10**6)}"/>\n'
            f"<published>{when}</published>\n<updated>{when}</updated>\n"
            f"<author><name>Writer {rng.randint(1, 40)}</name></author>\n"
            f'<content type="html">{escape(html)}</content>\n'
            "</entry>\n"
        )
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")


def generate_feeds(count: int, items: int, seed: int = SEED, dense: bool = False) -> list[Feed]:
    rng = random.Random(seed)
    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    result: list[Feed] = []
    for n in range(count):
        if n % 10 == 9:
            body = _atom(rng, n, items, now, dense)
            result.append(
                Feed(f"/blog/{n}.atom", body, "application/atom+xml; charset=utf-8", items)
            )
        else:
            body = _rss(rng, n, items, now, dense)
            result.append(Feed(f"/feed/{n}.xml", body, "application/rss+xml; charset=utf-8", items))
    return result


# --------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 16 concurrent connects must not overflow the default 5


def _serve(routes: dict[str, tuple[bytes, str]], port_queue: Any) -> None:
    """Child process: serve ``routes`` with strong ETags until terminated."""
    tagged = {
        path: (body, ctype, '"' + hashlib.sha1(body).hexdigest() + '"')
        for path, (body, ctype) in routes.items()
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive for clients that pool connections
        # Headers and body go out in two writes; without TCP_NODELAY (which nginx & co. set
        # on keep-alive connections) Nagle + delayed ACK stalls each response ~40 ms.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            found = tagged.get(self.path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, ctype, etag = found
            wanted = self.headers.get("If-None-Match", "")
            tags = {t.strip().removeprefix("W/") for t in wanted.split(",") if t.strip()}
            if etag in tags or "*" in tags:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


@contextmanager
def serving(generated: Sequence[Feed]) -> Iterator[tuple[str, int | None]]:
    """The feeds served from 127.0.0.1 by a process of their own, so the scan timed
    does no serving: yields their base URL and that process's pid."""
    routes = {f.path: (f.body, f.content_type) for f in generated}
    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(routes, port_queue), daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{port_queue.get(timeout=60)}", server.pid
    finally:
        server.terminate()
        server.join(10)


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True, slots=True)
class ScanFigures:
    seconds: float
    statuses: Counter[str]
    items: int
    new_mentions: int
    errors: tuple[str, ...]


def _config_yaml(urls: Sequence[str], engine: str | None = None) -> str:
    lines = ["settings:", "  concurrency: 16"]
    lines += [f"  sentiment: {engine}"] if engine else []
    lines.append("brands:")
    for brand, keywords in BRANDS.items():
        quoted = ", ".join(f'"{k}"' for k in keywords)
        lines += [f"  - name: {brand}", f"    keywords: [{quoted}]"]
    lines.append("sources:")
    lines += [f"  - {{name: feed{i:04d}, url: '{url}'}}" for i, url in enumerate(urls)]
    return "\n".join(lines) + "\n"


def run_scan(cfg: Config, db: sqlite_utils.Database) -> ScanFigures:
    gc.collect()
    started = time.perf_counter()
    report = pipeline.scan(cfg, db)
    seconds = time.perf_counter() - started
    return ScanFigures(
        seconds=seconds,
        statuses=Counter(s.status for s in report.sources),
        items=sum(s.items for s in report.sources),
        new_mentions=len(report.new_mention_ids),
        errors=tuple(f"{s.name}: {s.error}" for s in report.sources if s.status == "error"),
    )


def _scan_fresh(cfg: Config, source: Path | None, tmp: str) -> tuple[ScanFigures, int]:
    """One scan into a copy of ``source`` (a new, empty store when None), and how many
    mentions the store held before it. The copy is deleted afterwards."""
    path = Path(tmp) / "into.db"
    if source is not None:
        shutil.copyfile(source, path)
    # Synced first: else the kernel writes the copied gigabyte back to disk while the
    # scan runs, and the scan is timed against that.
    os.sync()
    db = store.open_db(path)
    before = db["mentions"].count
    figures = run_scan(cfg, db)
    db.close()
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    return figures, before


@dataclass(frozen=True, slots=True)
class CliFigures:
    seconds: float
    code: int
    peak_mb: float
    worker_peaks_mb: tuple[float, ...]


def _high_water_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, from /proc (Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return found


def cli_scan(config_yaml: str, home: Path) -> CliFigures:
    """`mentionwatch scan -q` as a user runs it (the installed console script), with the
    peak memory of its process and of each scoring worker, polled from /proc while it
    runs (a worker's peak is read while it lives, so it is a floor)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "mentionwatch.yaml").write_text(config_yaml)
    script = Path(sys.executable).with_name("mentionwatch")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mentionwatch"]
    command += ["scan", "-q", "-c", str(home / "mentionwatch.yaml"), "--db", str(home / "m.db")]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak, workers = 0.0, dict[int, float]()
    while child.poll() is None:
        peak = max(peak, _high_water_mb(child.pid) or 0.0)
        for pid in _children(child.pid):
            workers[pid] = max(workers.get(pid, 0.0), _high_water_mb(pid) or 0.0)
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    # The resource tracker of multiprocessing is a child too: a worker is what grew.
    scoring = tuple(sorted((mb for mb in workers.values() if mb > 60), reverse=True))
    return CliFigures(seconds, child.returncode, peak, scoring)


@dataclass(frozen=True, slots=True)
class NaiveFigures:
    seconds: float
    entries: int
    mentions: int
    stored: int


def naive_loop(urls: Sequence[str], db_path: Path) -> NaiveFigures:
    """The script a user would write instead: sequential, unconditional, one upsert a hit."""
    gc.collect()
    started = time.perf_counter()
    db = sqlite_utils.Database(db_path)
    table = db.table("mentions")
    entries = mentions = 0
    for url in urls:
        parsed = feedparser.parse(url)
        for entry in parsed.entries:
            entries += 1
            text = entry.get("title", "") + "\n" + entry.get("summary", "")
            for brand, keywords in BRANDS.items():
                for keyword in keywords:
                    if re.search(r"\b" + re.escape(keyword) + r"\b", text, re.I):
                        polarity = TextBlob(text).sentiment.polarity
                        record = {
                            "id": f"{entry.get('link', '')}|{brand}",
                            "brand": brand,
                            "url": entry.get("link", ""),
                            "title": entry.get("title", ""),
                            "text": text,
                            "published": entry.get("published", ""),
                            "sentiment": polarity,
                            "matched": keyword,
                        }
                        table.upsert(record, pk="id")
                        mentions += 1
                        break
    seconds = time.perf_counter() - started
    return NaiveFigures(seconds, entries, mentions, db["mentions"].count)


@dataclass(frozen=True, slots=True)
class ParseFigures:
    fast_seconds: float
    feedparser_seconds: float
    internal_fallback_seconds: float | None
    entries_fast: int
    entries_feedparser: int
    parsers: Counter[str]
    count_mismatches: tuple[str, ...]
    link_mismatches: tuple[str, ...]


def compare_parsers(generated: Sequence[Feed], base: str) -> ParseFigures:
    """``parse_feed`` vs ``feedparser.parse`` over the same bodies, in-process, no HTTP."""
    started = time.perf_counter()
    ours = [
        feeds.parse_feed(f.body, url=base + f.path, content_type=f.content_type) for f in generated
    ]
    fast_seconds = time.perf_counter() - started

    started = time.perf_counter()
    theirs = [feedparser.parse(f.body) for f in generated]
    feedparser_seconds = time.perf_counter() - started

    fallback = getattr(feeds, "_parse_feedparser", None)
    fallback_seconds: float | None = None
    if fallback is not None:
        started = time.perf_counter()
        for f in generated:
            fallback(f.body, url=base + f.path, content_type=f.content_type)
        fallback_seconds = time.perf_counter() - started

    count_bad: list[str] = []
    link_bad: list[str] = []
    for f, a, b in zip(generated, ours, theirs, strict=True):
        if not len(a.items) == len(b.entries) == f.entries:
            count_bad.append(f"{f.path}: parse_feed {len(a.items)}, feedparser {len(b.entries)}")
        elif [i.url for i in a.items] != [e.get("link", "") for e in b.entries]:
            link_bad.append(f.path)
    return ParseFigures(
        fast_seconds=fast_seconds,
        feedparser_seconds=feedparser_seconds,
        internal_fallback_seconds=fallback_seconds,
        entries_fast=sum(len(p.items) for p in ours),
        entries_feedparser=sum(len(p.entries) for p in theirs),
        parsers=Counter(p.parser for p in ours),
        count_mismatches=tuple(count_bad),
        link_mismatches=tuple(link_bad),
    )


# --------------------------------------------------------------------------- report


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f}" if seconds > 0 else f"{'-':>12}"


def _verdict(ratio: float, target: float) -> str:
    return ("PASS" if ratio >= target else "FAIL") + f" (target >= {target:g}x)"


def _environment() -> str:
    parts = [f"Python {sys.version.split()[0]}", f"{os.cpu_count()} CPUs"]
    for dist in ("httpx", "httpcore", "anyio", "feedparser"):
        try:
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{dist} absent")
    # httpcore 1.0.x retries a failed `import sniffio` on every lock it creates when anyio
    # (>= 4.11) no longer pulls sniffio in: worth knowing when reading the re-scan figure.
    parts.append("sniffio " + ("present" if importlib.util.find_spec("sniffio") else "absent"))
    return ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--feeds", type=int, default=None, help="number of feeds (default 500)")
    ap.add_argument("--items", type=int, default=None, help="items per feed (default 50)")
    ap.add_argument("--quick", action="store_true", help="50 feeds x 20 items")
    ap.add_argument("--skip-naive", action="store_true", help="don't time the naive loop")
    ap.add_argument(
        "--naive-once",
        action="store_true",
        help="run the naive loop once and reuse that figure for its re-run (saves ~20 s)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="repeat every timed run N times on fresh databases and report medians",
    )
    ap.add_argument(
        "--dense",
        action="store_true",
        help="a farm where ~90%% of posts name a brand and ~40%% name two (search sources)",
    )
    ap.add_argument(
        "--into",
        type=Path,
        default=None,
        help="each round, also scan into a copy of this (large) database and into an empty "
        "one, back to back, and compare them",
    )
    ap.add_argument(
        "--cli",
        action="store_true",
        help="also run the `mentionwatch scan` command itself and report its peak memory",
    )
    ap.add_argument(
        "--engine", default=None, help="sentiment engine for the scan (default: the default)"
    )
    ap.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    n_feeds = args.feeds if args.feeds is not None else (50 if args.quick else 500)
    n_items = args.items if args.items is not None else (20 if args.quick else 50)
    repeat = max(1, args.repeat)

    t0 = time.perf_counter()
    generated = generate_feeds(n_feeds, n_items, args.seed, dense=args.dense)
    gen_seconds = time.perf_counter() - t0
    total_entries = sum(f.entries for f in generated)
    total_bytes = sum(len(f.body) for f in generated)

    print(f"mentionwatch scan benchmark — {_environment()}")
    print(
        f"{n_feeds} feeds x {n_items} items = {total_entries:,} entries, "
        f"{total_bytes / 1e6:.1f} MB (generated in {gen_seconds:.1f}s, seed {args.seed}); "
        f"{sum(f.content_type.startswith('application/atom') for f in generated)} Atom feeds"
        + (" — dense farm" if args.dense else "")
    )

    fulls: list[ScanFigures] = []
    rescans: list[ScanFigures] = []
    naives: list[NaiveFigures] = []
    reruns: list[NaiveFigures] = []
    pairs: list[tuple[ScanFigures, ScanFigures]] = []  # (empty, large) per round
    clis: list[CliFigures] = []
    with serving(generated) as (base, pid):
        urls = [base + f.path for f in generated]
        print(f"serving from {base} (separate process, pid {pid})")
        print(f"runs: {repeat} of each (figures are medians)\n" if repeat > 1 else "")

        with tempfile.TemporaryDirectory(prefix="scan-bench-") as tmp:
            cfg = parse_config(_config_yaml(urls, args.engine), filename="bench.yaml")
            print(f"sentiment engine: {cfg.settings.sentiment}, concurrency 16")
            stored = 0
            density = (0, 0)
            for r in range(repeat):
                os.sync()  # nothing of the previous round still being written back
                db = store.open_db(Path(tmp) / f"bench{r}.db")
                fulls.append(run_scan(cfg, db))
                rescans.append(run_scan(cfg, db))
                stored = db["mentions"].count
                density = _density(db)
                db.close()
                if args.into is not None:
                    # Side by side: the same scan into an empty store and into a copy of
                    # the large one, back to back, the order swapped every round so that
                    # neither always runs second on a machine whose speed drifts.
                    order = ("empty", "large") if r % 2 == 0 else ("large", "empty")
                    pair = {
                        side: _scan_fresh(cfg, args.into if side == "large" else None, tmp)
                        for side in order
                    }
                    pairs.append((pair["empty"][0], pair["large"][0]))
                    print(
                        f"round {r + 1}: into an empty store {pairs[-1][0].seconds:.2f}s, "
                        f"into a store of {pair['large'][1]:,} mentions "
                        f"{pairs[-1][1].seconds:.2f}s ({' first, '.join(order)} second): "
                        f"{pairs[-1][1].seconds / pairs[-1][0].seconds:.2f}x"
                    )
                if args.cli:
                    clis.append(cli_scan(_config_yaml(urls, args.engine), Path(tmp) / f"cli{r}"))
                if not args.skip_naive:
                    naive_db = Path(tmp) / f"naive{r}.db"
                    naives.append(naive_loop(urls, naive_db))
                    if not args.naive_once:  # same database: upserts over existing rows
                        reruns.append(naive_loop(urls, naive_db))
        parse = compare_parsers(generated, base)

    _print_report(total_entries, fulls, rescans, stored, naives, reruns, parse, n_feeds)
    if pairs:
        ratios = [large.seconds / empty.seconds for empty, large in pairs]
        ratio = statistics.median(ratios)
        print(
            f"\nsame scan into the large store, median of {len(ratios)} side-by-side "
            f"pairs: {ratio:.2f}x (pairs {min(ratios):.2f}x to {max(ratios):.2f}x) "
            + ("PASS" if ratio <= INTO_TARGET else "FAIL")
            + f" (target <= {INTO_TARGET}x)"
        )
    for cli in clis:
        workers = ", ".join(f"{mb:.0f}" for mb in cli.worker_peaks_mb) or "none"
        print(
            f"\n`mentionwatch scan` command: {cli.seconds:.2f}s, exit {cli.code}; peak RSS of "
            f"its process {cli.peak_mb:.0f} MB "
            + ("PASS" if cli.peak_mb <= 200 else "FAIL")
            + f" (target <= 200 MB); of each scoring worker: {workers} MB"
        )
    one, two = density
    print(
        f"\nposts naming a brand: {one / total_entries:.0%}, naming two or more: "
        f"{two / total_entries:.0%} (as stored by mentionwatch)"
    )
    # The feeds' bodies live in this process too (the server has its own copy).
    print(
        f"peak RSS of this process (the scan's own): {_peak_mb():.0f} MB "
        f"(includes {total_bytes / 1e6:.0f} MB of generated feeds and the naive loop)"
    )
    # Children: the scoring worker(s) and the feed server; ru_maxrss is the largest one.
    print(
        f"peak RSS of the largest child process (a scoring worker or the feed server): "
        f"{_peak_mb(children=True):.0f} MB"
    )
    return 0


def _density(db: sqlite_utils.Database) -> tuple[int, int]:
    """Posts with at least one stored mention, and with mentions of two or more brands."""
    row = db.execute(
        "SELECT count(*), sum(n >= 2) FROM (SELECT count(*) AS n FROM mentions GROUP BY post_id)"
    ).fetchone()
    return int(row[0] or 0), int(row[1] or 0)


def _peak_mb(children: bool = False) -> float:
    import resource

    # ru_maxrss is in kilobytes on Linux.
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def _median_run(runs: Sequence[ScanFigures]) -> ScanFigures:
    return sorted(runs, key=lambda r: r.seconds)[(len(runs) - 1) // 2]


def _print_report(
    total: int,
    fulls: Sequence[ScanFigures],
    rescans: Sequence[ScanFigures],
    stored: int,
    naives: Sequence[NaiveFigures],
    reruns: Sequence[NaiveFigures],
    parse: ParseFigures,
    n_feeds: int,
) -> None:
    def statuses(s: ScanFigures) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(s.statuses.items()))

    full, rescan = _median_run(fulls), _median_run(rescans)
    print(f"{'run':<28}{'seconds':>10}{'entries/s':>13}  notes")
    print("-" * 96)
    print(
        f"{'mentionwatch full scan':<28}{full.seconds:>10.2f} {_rate(total, full.seconds)}  "
        f"{statuses(full)}; {full.items:,} items, {full.new_mentions:,} new mentions"
    )
    print(
        f"{'mentionwatch re-scan':<28}{rescan.seconds:>10.2f} {_rate(total, rescan.seconds)}  "
        f"{statuses(rescan)}; {rescan.new_mentions} new (entries/s = entries covered)"
    )
    naive_first = naive_rerun = None
    if naives:
        first = naives[0]
        naive_first = statistics.median(n.seconds for n in naives)
        print(
            f"{'naive feedparser loop':<28}{naive_first:>10.2f} "
            f"{_rate(first.entries, naive_first)}  "
            f"{first.entries:,} entries, {first.mentions:,} hits, {first.stored:,} rows"
        )
        if reruns:
            naive_rerun = statistics.median(n.seconds for n in reruns)
            note = "measured: same loop again over the database it filled"
        else:
            naive_rerun = naive_first
            note = "first figure reused (--naive-once): no conditional GET, it redoes all work"
        print(
            f"{'naive loop, re-run':<28}{naive_rerun:>10.2f} "
            f"{_rate(first.entries, naive_rerun)}  {note}"
        )
    else:
        print(f"{'naive feedparser loop':<28}{'skipped':>10}")
    print()
    print(f"mentions stored by mentionwatch: {stored:,} (naive regex also hits URLs like")
    print("acme.com/path and misses '#acme' because \\b cannot precede '#')")
    not_modified = min(r.statuses.get("not-modified", 0) for r in rescans)
    print(
        f"re-scan sources not-modified: {not_modified}/{n_feeds} "
        + ("PASS" if not_modified == n_feeds else "FAIL")
    )
    errors = [e for run in (*fulls, *rescans) for e in run.errors]
    for line in errors[:5]:
        print(f"  error: {line}")

    print()
    if naive_first is not None and naive_rerun is not None:
        r_full = naive_first / full.seconds
        r_rescan = naive_rerun / rescan.seconds
        print(f"ratio naive / full scan : {r_full:8.1f}x  {_verdict(r_full, FULL_TARGET)}")
        print(f"ratio naive / re-scan   : {r_rescan:8.1f}x  {_verdict(r_rescan, RESCAN_TARGET)}")
    else:
        print("ratios: skipped (--skip-naive)")

    print()
    print("parsers, same bodies, in-process (no HTTP):")
    paths = ", ".join(f"{k} {v}" for k, v in sorted(parse.parsers.items()))
    print(
        f"  mentionwatch.sources.feeds.parse_feed : {parse.fast_seconds:8.2f}s "
        f"{_rate(parse.entries_fast, parse.fast_seconds)} entries/s  (paths: {paths})"
    )
    print(
        f"  feedparser.parse              : {parse.feedparser_seconds:8.2f}s "
        f"{_rate(parse.entries_feedparser, parse.feedparser_seconds)} entries/s"
    )
    if parse.internal_fallback_seconds is not None:
        print(
            f"  feeds._parse_feedparser       : {parse.internal_fallback_seconds:8.2f}s "
            f"{_rate(parse.entries_feedparser, parse.internal_fallback_seconds)} entries/s"
            "  (mentionwatch's fallback path)"
        )
    if parse.fast_seconds > 0:
        speedup = parse.feedparser_seconds / parse.fast_seconds
        print(f"  ratio feedparser / parse_feed: {speedup:.1f}x")
    same = not parse.count_mismatches
    print(
        f"  same entry count in every feed: {'PASS' if same else 'FAIL'} "
        f"({parse.entries_fast:,} vs {parse.entries_feedparser:,})"
    )
    for line in parse.count_mismatches[:5]:
        print(f"    {line}")
    print(
        "  same entry links in every feed: "
        + ("PASS" if not parse.link_mismatches else f"FAIL in {len(parse.link_mismatches)}")
    )


if __name__ == "__main__":
    sys.exit(main())
