"""Benchmark: the read commands over a small and a large store, side by side.

Builds two stores through the store's own writer (``store.save_source_run``, the function
a scan uses, so triggers, full-text index and every index are as a scan leaves them):
20k mentions and 1M mentions (by default), both spread over 90 days ending now, about
1.4 mentions a post over three brands, a few labels, some handled mentions. Then times,
on each, what the commands run:

* ``digest --since 30d`` (``report.digest.build_digest``),
* ``inbox`` (``webcare.inbox``, 50 shown),
* ``precision`` (``webcare.labels.precision_report``),
* ``mentions`` with a filter (``store.query_mentions``, 50 shown): by brand, by
  sentiment, since 7 days, by status, by full-text search;

and prints each time at both sizes and their ratio. Targets (issue 12): digest < 1 s,
inbox < 0.5 s, precision < 1 s, mentions < 0.5 s on the large store, and each within 3x
of the small one. The exit status is always 0: this is a report.

    python benchmarks/store_bench.py                 # 20k and 1M mentions
    python benchmarks/store_bench.py --large 200000  # a quicker large store
    python benchmarks/store_bench.py --keep /tmp/mw  # keep the databases (rebuilt if absent)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from mentionwatch.configure import parse_config
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport, SourceState, Span
from mentionwatch.report.digest import build_digest, make_period
from mentionwatch.store import db as store
from mentionwatch.webcare import inbox, labels

SEED = 20261204
DAYS = 90
BRANDS = ("Acme", "Globex", "Initech")
PROSE = (
    "the new release shipped today with a faster checkout and cleaner settings page "
    "customers reported that delivery was late again but support answered quickly "
    "battery life was great although the screen felt dim outdoors in bright sunlight"
)
WORDS = tuple(PROSE.split())
CONFIG = """
brands:
  - {name: Acme, keywords: [Acme, "Acme Corp"], respond_within: 4h}
  - {name: Globex, keywords: [Globex]}
  - {name: Initech, keywords: [Initech]}
sources:
  - {name: feed000, url: "http://127.0.0.1:9/feed.xml"}
inbox:
  respond_within: {negative: 2h}
"""
TARGETS = {"digest 30d": 1.0, "inbox": 0.5, "precision": 1.0}
MENTIONS_TARGET = 0.5
RATIO_TARGET = 3.0
SOURCES = 200
BATCH = 2000  # posts per save_source_run call: one transaction each, as a scan does


def build(path: Path, mentions: int, now: datetime, seed: int = SEED) -> None:
    """A store of about ``mentions`` mentions, written by the store's own writer."""
    rng = random.Random(seed)
    db = store.open_db(path)
    # Only for the build: ids are hashes, so every insert lands on a random page of each
    # index; with SQLite's default 2 MB cache a 1M build rereads pages all the time. The
    # timed commands use a fresh connection with the defaults, as the CLI does.
    db.execute("PRAGMA cache_size = -400000")
    made = 0
    fetched = now
    batch: list[store.NewMention] = []
    n = 0
    while made < mentions:
        n += 1
        source = f"feed{n % SOURCES:03d}"
        at = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 50)))
        names = rng.sample(BRANDS, 2 if rng.random() < 0.4 else 1)
        title = f"{names[0]} {' '.join(rng.choice(WORDS) for _ in range(6))}"
        item = RawItem(
            external_id=f"urn:bench:{n}",
            url=f"https://news{n % SOURCES}.example.com/{n}",
            title=title,
            text=f"{text} {' and '.join(names)}.",
            author=f"writer{rng.randint(1, 300)}",
            published=at,
            counters=(("points", rng.randint(0, 5000)),) if rng.random() < 0.5 else (),
        )
        pid = store.post_key(source, item)
        for name in names:
            score = round(rng.uniform(-1, 1), 4)
            label = "positive" if score > 0.05 else "negative" if score < -0.05 else "neutral"
            match = Match(name, (name,), (Span(0, len(name), name),))
            batch.append(store.NewMention(pid, item, match, Sentiment(score, label, "vader")))
            made += 1
        if len(batch) >= BATCH or made >= mentions:
            _flush(db, batch, fetched)
            batch = []
    _handle_some(db, rng, now)
    db.execute("ANALYZE")
    db.close()


def _flush(db: sqlite_utils.Database, batch: list[store.NewMention], fetched: datetime) -> None:
    report = SourceReport("feed000", "rss", "ok", items=len(batch))
    store.save_source_run(
        db,
        source="feed000",
        source_type="rss",
        mentions=batch,
        state=SourceState(),
        report=report,
        fetched=fetched,
    )


def _handle_some(db: sqlite_utils.Database, rng: random.Random, now: datetime) -> None:
    """About 1% labelled (a third irrelevant), 30% of older mentions handled."""
    ids = [r[0] for r in db.execute("SELECT id FROM mentions ORDER BY id")]
    sample = rng.sample(ids, max(10, len(ids) // 100))
    with store.transaction(db):
        for i, mid in enumerate(sample):
            labels.set_label(db, mid, "irrelevant" if i % 3 == 0 else "relevant", who="b", at=now)
        db.execute(
            "UPDATE mentions SET status = 'responded'"
            " WHERE status = 'new' AND abs(random()) % 10 < 3"
        )


def _time(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm the page cache: cron runs a command against a warm file too
    return statistics.median(_once(fn) for _ in range(repeat))


def _once(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def commands(db: sqlite_utils.Database, now: datetime) -> dict[str, Callable[[], Any]]:
    cfg = parse_config(CONFIG, filename="bench.yaml")
    period = make_period("30d", end=now)
    q = store.MentionFilter
    return {
        "digest 30d": lambda: build_digest(db, cfg, period, limit=20),
        "inbox": lambda: inbox.inbox(db, cfg, now=now, limit=50),
        "precision": lambda: labels.precision_report(db),
        "mentions --brand": lambda: store.query_mentions(db, q(brand="Globex", limit=50)),
        "mentions --sentiment": lambda: store.query_mentions(db, q(sentiment="negative", limit=50)),
        "mentions --since 7d": lambda: store.query_mentions(
            db, q(since=now - timedelta(days=7), limit=50)
        ),
        "mentions --status": lambda: store.query_mentions(db, q(status="responded", limit=50)),
        "mentions --search": lambda: store.query_mentions(db, q(search="battery", limit=50)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--small", type=int, default=20_000, help="mentions in the small store")
    ap.add_argument("--large", type=int, default=1_000_000, help="mentions in the large store")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per command (median)")
    ap.add_argument("--keep", type=Path, default=None, help="folder for the databases")
    args = ap.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        times: dict[int, dict[str, float]] = {}
        for size in (args.small, args.large):
            path = folder / f"store-{size}.db"
            if not path.exists():
                started = time.perf_counter()
                build(path, size, now)
                print(f"built {size:,} mentions in {time.perf_counter() - started:.1f}s: {path}")
            db = store.open_db(path)
            count = db.execute("SELECT count(*) FROM mentions").fetchone()[0]
            print(f"store of {count:,} mentions, {path.stat().st_size / 1e6:.0f} MB")
            times[size] = {name: _time(fn, args.repeat) for name, fn in commands(db, now).items()}
            db.close()
    small, large = times[args.small], times[args.large]
    print()
    print(f"{'command':<24}{f'{args.small:,}':>12}{f'{args.large:,}':>12}{'ratio':>8}  verdict")
    print("-" * 80)
    for name in small:
        ratio = large[name] / small[name] if small[name] > 0 else float("inf")
        limit = TARGETS.get(name, MENTIONS_TARGET)
        ok = large[name] < limit and ratio <= RATIO_TARGET
        verdict = ("PASS" if ok else "FAIL") + f" (< {limit:g}s, ratio <= {RATIO_TARGET:g}x)"
        print(f"{name:<24}{small[name]:>11.3f}s{large[name]:>11.3f}s{ratio:>7.1f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
