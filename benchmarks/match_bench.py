"""Benchmark: does matching cost stay flat as the number of keywords grows?

Times ``compile_brands`` + ``Matcher.match`` over the same synthetic posts with
10 keywords (1 brand) and with 1,000 keywords (100 brands), and again with boolean queries:
1 brand vs 100 brands, each query of ~13 terms with a NEAR, a prefix and a NOT. Prints the
times and both ratios large/small; the design target is at most 3x for each (exit 1 if not).
Each configuration runs ``--repeat`` times, interleaved, and the fastest run counts (as with
timeit): other processes on the machine can only make a run slower, never faster.

    python benchmarks/match_bench.py             # 100,000 posts
    python benchmarks/match_bench.py --posts 5000 --repeat 1
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence

from mentionwatch.analysis.matcher import compile_brands
from mentionwatch.config import query as q
from mentionwatch.config.model import Brand

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


def make_query_brands(rng: random.Random, brands: Sequence[Brand]) -> list[Brand]:
    """The same brands as boolean queries: phrases, hashtag, handle, a prefix, a NEAR, a NOT."""
    out: list[Brand] = []
    for brand in brands:
        name = brand.name
        low = name.lower()
        phrases = " OR ".join(f'"{k}"' for k in brand.keywords[1:3])
        query = (
            f"({phrases} OR #{low} OR @{low}hq OR {name}é OR {name}.io OR {name}&Co "
            f"OR Go{low} OR {name[:4]}{rng.choice(SYLLABLES)}* "
            f"OR {name} NEAR/3 (phone OR laptop OR service)) AND NOT {name}ville"
        )
        out.append(Brand(name, (), query=query))
    return out


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
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration; best")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    brands = make_brands(rng, 100)
    posts = make_posts(rng, args.posts, brands)
    small, large = brands[:1], brands
    small_keywords = sum(len(b.keywords) for b in small)
    large_keywords = sum(len(b.keywords) for b in large)

    queries = make_query_brands(rng, brands)
    terms = [len(q.positive_terms(q.parse_query(b.query or ""))) + 1 for b in queries]
    configs = {
        "keywords small": small,
        "keywords large": large,
        "queries small": queries[:1],
        "queries large": queries,
    }
    # Warm up once (the tokenizer regex and the fold table are built on first use) so the
    # first configuration timed does not pay for both.
    run(large, posts[:1000])
    run(queries, posts[:1000])
    best: dict[str, float] = {}
    found: dict[str, int] = {}
    for _ in range(max(1, args.repeat)):
        for label, config in configs.items():
            seconds, found[label] = run(config, posts)
            best[label] = min(seconds, best.get(label, seconds))

    mean_chars = sum(len(t) + len(x) + 1 for t, x in posts) / len(posts)
    print(f"posts: {len(posts):,} (mean {mean_chars:.0f} chars), best of {args.repeat}")
    sizes = {
        "keywords small": f"{small_keywords:>5,} keywords",
        "keywords large": f"{large_keywords:>5,} keywords",
        "queries small": f"{sum(terms[:1]):>5,} query terms",
        "queries large": f"{sum(terms):>5,} query terms",
    }
    for label, config in configs.items():
        seconds = best[label]
        print(
            f"{label:<14}: {sizes[label]} / {len(config):>3} brands: {seconds:7.3f} s "
            f"({seconds / len(posts) * 1e6:6.1f} µs/post), {found[label]:,} mentions"
        )
    ratio = best["keywords large"] / best["keywords small"]
    query_ratio = best["queries large"] / best["queries small"]
    print(f"keywords ratio large/small: {ratio:.2f}x (target <= 3x)")
    print(f"queries ratio large/small:  {query_ratio:.2f}x (target <= 3x)")
    return 0 if ratio <= 3 and query_ratio <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
