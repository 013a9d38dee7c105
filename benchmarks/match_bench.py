"""Benchmark: does matching cost stay flat as the number of keywords grows?

Times ``compile_brands`` + ``Matcher.match`` over the same synthetic posts with
10 keywords (1 brand) and with 1,000 keywords (100 brands), and prints both times and their
ratio. The design target is a ratio of at most 3x.

    python benchmarks/match_bench.py             # 100,000 posts
    python benchmarks/match_bench.py --posts 5000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence

from mentionwatch.config import Brand
from mentionwatch.matcher import compile_brands

# Plain words posts are made of (split once; a string keeps the list readable).
_FILLER_WORDS = (
    "the a an and or but of to in on for with at by from about as into like through after "
    "over between out against during without before under around among new great phone "
    "laptop service support price update today yesterday really very good bad terrible love "
    "hate think bought ordered delivery shop store app website customer people team company "
    "product launch review problem issue fixed broken fast slow cheap expensive week month "
    "year again never always just still only also even more most some any every first last "
    "next best worst quite rather pretty much many few little big small"
)
FILLER = _FILLER_WORDS.split()
NON_ASCII = ["café", "Straße", "blåbær", "smørbrød", "naïve", "Zürich", "İstanbul", "ﬁne"]
_SYLLABLE_WORDS = "zor vex lum tak rin bo qua mel dri sto fen gal cor pix nu ter vol jan kri oss"
SYLLABLES = _SYLLABLE_WORDS.split()
SUFFIXES = ["Labs", "Cloud", "Pay", "Mobile", "Group", "Energy", "Foods", "Studio"]


def make_brands(rng: random.Random, count: int) -> list[Brand]:
    """``count`` brands of 10 keywords each: words, phrases, hashtags, handles, accents."""
    brands: list[Brand] = []
    used: set[str] = set()
    while len(brands) < count:
        name = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        if name in used:
            continue
        used.add(name)
        keywords = (
            name,
            f"{name} {rng.choice(SUFFIXES)}",
            f"{name} {rng.choice(SUFFIXES)} {rng.choice(SUFFIXES)}",
            f"#{name.lower()}",
            f"@{name.lower()}hq",
            f"{name}é",
            f"{name}.io",
            f"{name}&Co",
            f"{name[:4]}{rng.choice(SYLLABLES)}",
            f"Go{name.lower()}",
        )
        brands.append(Brand(name, keywords, exclude=(f"{name}ville",)))
    return brands


def decoy(rng: random.Random, name: str) -> str:
    """Text that looks like a mention of ``name`` but is not one."""
    low = name.lower()
    return rng.choice(
        [
            f"{name}ville",
            f"{name}2",
            f"#{name}Support",
            f"{low}_corp",
            f"https://{low}.com/x",
            f"support@{low}.com",
            f"example.com/{low}/path",
            f"www.{low}.com",
            f"{name}-{rng.choice(SUFFIXES)}",
        ]
    )


def make_posts(rng: random.Random, count: int, brands: Sequence[Brand]) -> list[tuple[str, str]]:
    """``count`` (title, text) pairs of ~300 characters, some mentioning, some decoys."""
    all_keywords = [k for b in brands for k in b.keywords]
    posts: list[tuple[str, str]] = []
    for _ in range(count):
        words: list[str] = []
        length = 0
        while length < 300:
            word = rng.choice(FILLER)
            words.append(word)
            length += len(word) + 1
        for _ in range(rng.choice((0, 0, 1, 2))):
            keyword = rng.choice(all_keywords)
            keyword = rng.choice([keyword, keyword.upper(), keyword + "'s", f"({keyword})"])
            words.insert(rng.randrange(len(words)), keyword)
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), decoy(rng, rng.choice(brands).name))
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words)), rng.choice(NON_ASCII))
        title = " ".join(words[:8]).capitalize()
        text = " ".join(words[8:]) + "."
        posts.append((title, text))
    return posts


def run(brands: Sequence[Brand], posts: Sequence[tuple[str, str]]) -> tuple[float, int]:
    """Seconds to compile ``brands`` and match every post, and the number of mentions."""
    start = time.perf_counter()
    matcher = compile_brands(brands)
    found = 0
    for title, text in posts:
        found += len(matcher.match(title, text))
    return time.perf_counter() - start, found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=100_000, help="number of posts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    brands = make_brands(rng, 100)
    posts = make_posts(rng, args.posts, brands)
    small, large = brands[:1], brands
    small_keywords = sum(len(b.keywords) for b in small)
    large_keywords = sum(len(b.keywords) for b in large)

    # Warm up once (the tokenizer regex and the fold table are built on first use) so the
    # first configuration timed does not pay for both.
    run(large, posts[:1000])

    small_s, small_found = run(small, posts)
    large_s, large_found = run(large, posts)
    mean_chars = sum(len(t) + len(x) + 1 for t, x in posts) / len(posts)
    print(f"posts: {len(posts):,} (mean {mean_chars:.0f} chars)")
    for label, keywords, count, seconds, found in (
        ("small", small_keywords, len(small), small_s, small_found),
        ("large", large_keywords, len(large), large_s, large_found),
    ):
        print(
            f"{label}: {keywords:>5,} keywords / {count:>3} brands: {seconds:7.3f} s "
            f"({seconds / len(posts) * 1e6:6.1f} µs/post), {found:,} mentions"
        )
    ratio = large_s / small_s
    print(f"ratio large/small: {ratio:.2f}x (target <= 3x)")
    return 0 if ratio <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
