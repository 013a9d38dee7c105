"""Benchmark: the pages each commit of the writer copies into the write-ahead log, by index.

A commit's cost grows with the pages it dirtied, and those grow with the store for every
index whose new rows land on pages of their own (keys that are hashes, or times spread
over the last day). This counts them, which no noisy neighbour can change: it writes
twelve batches of 900 mentions (as store_bench's writer does) into a copy of a store,
and reads the log of the last six, naming each page by SQLite's ``dbstat`` table.

    python benchmarks/wal_pages.py                            # a new, empty store
    python benchmarks/wal_pages.py /tmp/mwb/store-1000000.db  # a copy of this store

The stores of ``store_bench.py --keep DIR`` are the large ones to give it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import struct
import sys
import tempfile
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store_bench import SEED, WRITE_BATCH, _flush, make_batches

from mentionwatch.store import db as store

WARM_BATCHES = 6  # written first and checkpointed away: an empty store is not measured empty
COUNTED_BATCHES = 6
WAL_HEADER, FRAME_HEADER = 32, 24


def wal_frames(wal: Path) -> tuple[list[int], int]:
    """The page number of every frame in a write-ahead log, and how many commits it holds."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    pages, commits, offset = [], 0, WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        page, commit_size = struct.unpack(">II", data[offset : offset + 8])
        pages.append(page)
        commits += commit_size != 0  # a commit's last frame holds the database size
        offset += FRAME_HEADER + page_size
    return pages, commits


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("store", nargs="?", type=Path, help="a store to copy (default: a new one)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wal-pages-") as tmp:
        path = Path(tmp) / "store.db"
        if args.store:
            shutil.copyfile(args.store, path)
        db = store.open_db(path)
        db.execute("PRAGMA wal_autocheckpoint = 0")  # the log keeps every frame
        written = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        batches = list(
            make_batches(
                WRITE_BATCH * (WARM_BATCHES + COUNTED_BATCHES), written,
                random.Random(SEED + 1), first=10**9, days=1, batch_size=WRITE_BATCH,
            )
        )  # fmt: skip
        for batch in batches[:WARM_BATCHES]:
            _flush(db, batch, written)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for batch in batches[WARM_BATCHES:]:
            _flush(db, batch, written)
        pages, commits = wal_frames(Path(f"{path}-wal"))
        wanted = set(pages)
        names = {}
        with closing(sqlite3.connect(path)) as raw:  # a reader sees the log's pages too
            for name, page in raw.execute("SELECT name, pageno FROM dbstat"):
                if page in wanted:
                    names[page] = name
        mentions = db.execute("SELECT count(*) FROM mentions").fetchone()[0]
        db.close()
    per = Counter(names.get(p, "(free list, new)") for p in pages)
    print(f"store of {mentions:,} mentions after the writes; {commits} commits of {WRITE_BATCH}")
    print(f"pages per commit: {len(pages) / commits:,.0f}")
    for name, n in per.most_common():
        if n / commits >= 1:
            print(f"  {n / commits:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
