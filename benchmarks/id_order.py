"""What-if benchmark: how much of a scan's growth with the store the hashed ids make.

Issue 12 asks for the same new-post scan into a 1M-mention store within 1.3x of one into
an empty store. Post and mention ids are hashes (of the canonical URL, of the post and
brand), so in a large store every new row of the two indexes keyed by them lands on a
page of its own, and each commit copies those pages into the write-ahead log
(``wal_pages.py`` counts them). This runs scan_bench's dense scan in side-by-side pairs
(an empty store, a copy of the large one) twice per round: with the ids as they are,
and with ids that grow in time order (``~`` and a counter; they sort after every stored
hash, so they land at the indexes' ends), put in place of ``store.post_key`` and
``store.mention_key`` in this process only. The gap between the two ratios is the most
a change of id scheme could buy: with post ids in time order, finding a post again by
its URL would still need an index on the URL's hash. The ordered ids are no supported
mode: they find a post again only within one scan.

    python benchmarks/id_order.py BIG.db                # 3 rounds, 200 feeds x 50 posts
    python benchmarks/id_order.py BIG.db --rounds 5 --feeds 100
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from scan_bench import SEED, _config_yaml, _scan_fresh, generate_feeds, serving

from mentionwatch.configure import parse_config
from mentionwatch.models import RawItem
from mentionwatch.store import db as store

VARIANTS = ("hashed ids", "time-ordered ids")


@contextmanager
def time_ordered_ids() -> Iterator[dict[str, str]]:
    """Within the block, each new post gets the next id of a counter, and its mentions
    that id and their brand; the same post found twice keeps its first id. Yields the
    ids given, by the hashed id they replace."""
    given: dict[str, str] = {}
    hashed: Callable[[str, RawItem], str] = store.post_key

    def post_key(source: str, item: RawItem) -> str:
        key = hashed(source, item)
        if key not in given:
            given[key] = f"~{len(given):015d}"
        return given[key]

    def mention_key(post_id: str, brand: str) -> str:
        return f"{post_id}.{brand.casefold()}"

    before = store.post_key, store.mention_key
    # setattr: the pipeline calls store.post_key and the writer its module's mention_key,
    # both looked up in the module at each call.
    setattr(store, "post_key", post_key)  # noqa: B010
    setattr(store, "mention_key", mention_key)  # noqa: B010
    try:
        yield given
    finally:
        setattr(store, "post_key", before[0])  # noqa: B010
        setattr(store, "mention_key", before[1])  # noqa: B010


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("store", type=Path, help="the large store to copy (store_bench --keep)")
    ap.add_argument("--rounds", type=int, default=3, help="pairs per variant (default 3)")
    ap.add_argument("--feeds", type=int, default=200, help="dense feeds (default 200)")
    ap.add_argument("--items", type=int, default=50, help="posts per feed (default 50)")
    args = ap.parse_args(argv)

    generated = generate_feeds(args.feeds, args.items, SEED, dense=True)
    ratios: dict[str, list[float]] = {v: [] for v in VARIANTS}
    with serving(generated) as (base, _):
        cfg = parse_config(_config_yaml([base + f.path for f in generated]), filename="b.yaml")
        print(f"{args.feeds} dense feeds x {args.items} posts; into a copy of {args.store}")
        with tempfile.TemporaryDirectory(prefix="id-order-") as tmp:
            for r in range(args.rounds):
                # Both variants every round, and both sides of each pair, in an order
                # swapped each round: the machine's speed drifts over minutes.
                for variant in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:
                    sides = (None, args.store) if r % 2 == 0 else (args.store, None)
                    seconds: dict[Path | None, float] = {}
                    ordered = variant == VARIANTS[1]
                    for side in sides:
                        ids: AbstractContextManager[dict[str, str]] = (
                            time_ordered_ids() if ordered else nullcontext({})
                        )
                        with ids as given:
                            seconds[side] = _scan_fresh(cfg, side, tmp)[0].seconds
                        if ordered and not given:  # the scan no longer asks store.post_key
                            raise SystemExit("the time-ordered ids were never used")
                    ratio = seconds[args.store] / seconds[None]
                    ratios[variant].append(ratio)
                    print(
                        f"round {r + 1}, {variant:<16}: empty {seconds[None]:.2f}s, "
                        f"large {seconds[args.store]:.2f}s: {ratio:.2f}x"
                    )
    print()
    for variant, found in ratios.items():
        print(
            f"{variant:<16}: median {statistics.median(found):.2f}x "
            f"(pairs {min(found):.2f}x to {max(found):.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
