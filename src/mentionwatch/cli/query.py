"""The `test-query` command: back-test a rule over the posts already stored.

One responsibility: re-match stored posts (title + text, kept up to 100,000 characters for
exactly this) under two rules and report what the second would gain and lose against the
first, with counts, the relevance labels already given, and examples, so a query can be
tightened before it is deployed. Three ways to call it:

* ``test-query BRAND --query Q``: the draft ``Q`` against BRAND's rule in the config;
* ``test-query BRAND``: BRAND's rule in the config against the mentions stored for it
  (what changed since the posts were scanned, e.g. after editing the config);
* ``test-query --query Q``: what ``Q`` matches, with no comparison.

Read-only: the store is opened without creating it and without the scan lock.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlite_utils
import typer
from rich.table import Table
from rich.text import Text

from ..analysis.explain import highlighted
from ..analysis.matcher import Matcher, compile_brands
from ..config import query as q
from ..config.loader import Config
from ..config.model import Brand
from ..errors import ConfigError
from ..models import Match, Span
from ..store.db import mention_key
from ..textutil import safe_text
from ..timeutil import parse_when, to_iso
from .base import (
    ConfigOpt,
    DbOpt,
    QuietOpt,
    app,
    for_people,
    handle_errors,
    load,
    open_store,
    optional_config,
)
from .output import console

DEFAULT_SINCE = "30d"
DEFAULT_LIMIT = 10
_CONTEXT = 60  # characters either side of the first matched term in a snippet
_MAX_TITLE = 160
_GROUPS = ("baseline", "candidate", "kept", "gained", "lost")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


# ------------------------------------------------------------------------------ the model


@dataclass(frozen=True, slots=True)
class Side:
    """One rule of the comparison: a compiled matcher, or (matcher None) the mentions
    stored for the brand, i.e. the rule as it was when the posts were scanned."""

    name: str  # "current rule", "draft query", "stored mentions"
    rule: str  # the rule as text: normalised query, keywords, or what was stored
    matcher: Matcher | None = None


@dataclass(frozen=True, slots=True)
class Example:
    post_id: str
    mention_id: str | None  # the brand's stored mention of this post, if there is one
    url: str
    title: str  # on one line, cut to _MAX_TITLE characters
    title_highlights: tuple[tuple[int, int], ...]  # matched terms inside the title
    published: str | None
    matched: tuple[str, ...]
    snippet: str  # the text on one line around its first matched term
    highlights: tuple[tuple[int, int], ...]  # matched terms inside the snippet
    label: str | None  # relevant / irrelevant, when someone labelled the stored mention

    def as_json(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id,
            "mention_id": self.mention_id,
            "url": self.url,
            "title": self.title,
            "published": self.published,
            "matched": list(self.matched),
            "snippet": self.snippet,
            "label": self.label,
        }


@dataclass
class Comparison:
    brand: str | None
    since: datetime
    candidate: Side
    baseline: Side | None
    posts: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    # group → label → count, for posts whose stored mention of the brand is labelled
    labelled: dict[str, Counter[str]] = field(
        default_factory=lambda: {group: Counter() for group in _GROUPS}
    )
    # "gained" and "lost" with a baseline, else "matches"; newest first
    examples: dict[str, list[Example]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        sides = {"candidate": self.candidate, "baseline": self.baseline}
        return {
            "brand": self.brand,
            "since": to_iso(self.since),
            "posts": self.posts,
            **{
                key: None if side is None else {"name": side.name, "rule": side.rule}
                for key, side in sides.items()
            },
            "counts": {
                group: self.counts[group]
                for group in (_GROUPS if self.baseline else ("candidate",))
            },
            "labelled": {
                group: dict(self.labelled[group])
                for group in (_GROUPS if self.baseline else ("candidate",))
            },
            **{group: [e.as_json() for e in items] for group, items in self.examples.items()},
        }


# ------------------------------------------------------------------------------ the work


def rule_text(brand: Brand) -> str:
    """A brand's rule in one line: its normalised query, or its keyword lists."""
    if brand.query is not None:
        return q.render(q.parse_query(brand.query))
    parts = ["any of " + ", ".join(brand.keywords)]
    if brand.require:
        parts.append("and any of " + ", ".join(brand.require))
    if brand.exclude:
        parts.append("and none of " + ", ".join(brand.exclude))
    return " ".join(parts)


def draft_side(draft: str, name: str) -> Side:
    """The draft query compiled; its problems are usage errors naming ``--query``."""
    try:
        root = q.parse_query(draft)
        matcher = compile_brands([Brand(name=name, keywords=(), query=draft)])
    except ConfigError as exc:
        # The matcher names a brand; the user typed an option.
        message = str(exc)
        prefix = f"brand {name!r}: "
        raise ConfigError(f"--query: {message.removeprefix(prefix)}") from None
    return Side("draft query", q.render(root), matcher)


def compare(
    database: sqlite_utils.Database,
    *,
    brand: str | None,
    candidate: Side,
    baseline: Side | None,
    since: datetime,
    limit: int,
) -> Comparison:
    """Re-match every post stored since ``since`` under both sides and tally the difference.

    ``brand`` (the configured name) is what stored mentions and labels are looked up by.
    """
    result = Comparison(brand=brand, since=since, candidate=candidate, baseline=baseline)
    stored = _stored_mentions(database, brand) if brand else {}
    labels = _labels(database, brand) if brand else {}
    groups = ("gained", "lost") if baseline else ("matches",)
    result.examples = {group: [] for group in groups}
    for post in _posts(database, since):
        result.posts += 1
        new = _match(candidate, post, stored)
        old = _match(baseline, post, stored) if baseline else None
        in_groups = []
        if new is not None:
            in_groups.append("candidate")
        if baseline is not None:
            if old is not None:
                in_groups.append("baseline")
            if new is not None and old is not None:
                in_groups.append("kept")
            elif new is not None:
                in_groups.append("gained")
            elif old is not None:
                in_groups.append("lost")
        label = labels.get(post["id"])
        for group in in_groups:
            result.counts[group] += 1
            if label is not None:
                result.labelled[group][label] += 1
        example_group, shown = None, None
        if baseline is None and new is not None:
            example_group, shown = "matches", new
        elif "gained" in in_groups:
            example_group, shown = "gained", new
        elif "lost" in in_groups:
            example_group, shown = "lost", old
        if example_group and shown and len(result.examples[example_group]) < limit:
            mention_id = mention_key(post["id"], brand) if brand and post["id"] in stored else None
            result.examples[example_group].append(_example(post, shown, mention_id, label))
    return result


def _posts(database: sqlite_utils.Database, since: datetime) -> Iterator[dict[str, Any]]:
    # Undated posts count from when they were fetched. Newest first, so the examples are.
    yield from database.query(
        """SELECT id, url, title, text, published, fetched FROM posts
           WHERE COALESCE(published, fetched) >= ?
           ORDER BY COALESCE(published, fetched) DESC, id""",
        [to_iso(since)],
    )


def _stored_mentions(database: sqlite_utils.Database, brand: str) -> dict[str, Match]:
    """Post id → the stored mention of ``brand`` (terms and spans as stored)."""
    out: dict[str, Match] = {}
    for row in database.query(
        "SELECT post_id, matched, spans FROM mentions WHERE brand = ?", [brand]
    ):
        spans = tuple(Span(s, e, t) for s, e, t in json.loads(row["spans"]))
        out[row["post_id"]] = Match(brand, tuple(json.loads(row["matched"])), spans)
    return out


def _labels(database: sqlite_utils.Database, brand: str) -> dict[str, str]:
    """Post id → the label given to the brand's stored mention of it."""
    return {
        row["post_id"]: row["label"]
        for row in database.query(
            """SELECT m.post_id, l.label FROM labels l JOIN mentions m ON m.id = l.mention_id
               WHERE m.brand = ?""",
            [brand],
        )
    }


def _match(side: Side | None, post: dict[str, Any], stored: dict[str, Match]) -> Match | None:
    if side is None:
        return None
    if side.matcher is None:
        return stored.get(post["id"])
    found = side.matcher.match(post["title"], post["text"])
    return found[0] if found else None


def _example(
    post: dict[str, Any], match: Match, mention_id: str | None, label: str | None
) -> Example:
    """The post with its title and a one-line snippet of its text, matched terms marked.

    The snippet is cut around the first match in the text (or is the start of the text
    when the terms matched in the title only).
    """
    title, text = post["title"], post["text"]
    offset = len(title) + 1  # spans index title + "\n" + text
    in_title = [(s.start, s.end) for s in match.spans if s.end <= len(title)]
    in_text = [(s.start - offset, s.end - offset) for s in match.spans if s.start >= offset]
    in_text = sorted((s, e) for s, e in in_text if 0 <= s < e <= len(text))
    shown_title, title_marks = _excerpt(title, in_title, 0, min(len(title), _MAX_TITLE))
    first = in_text[0] if in_text else (0, 0)
    start = max(0, first[0] - _CONTEXT)
    snippet, marks = _excerpt(text, in_text, start, min(len(text), first[1] + _CONTEXT))
    return Example(
        post_id=post["id"],
        mention_id=mention_id,
        url=post["url"],
        title=shown_title,
        title_highlights=title_marks,
        published=post["published"] or post["fetched"],
        matched=match.terms,
        snippet=snippet,
        highlights=marks,
        label=label,
    )


def _excerpt(
    source: str, spans: Sequence[tuple[int, int]], start: int, end: int
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``source[start:end]`` on one line, "…" where cut, and where the spans fall in it.

    Flattened piece by piece, so the span offsets stay true after white space collapses.
    """
    pieces: list[str] = ["…"] if start > 0 else []
    length = len(pieces)
    marks: list[tuple[int, int]] = []
    pos = start
    for s, e in sorted(spans):
        s, e = max(s, start), min(e, end)
        if s >= e or s < pos:
            continue
        before, term = _flat(source[pos:s]), _flat(source[s:e])
        pieces += [before, term]
        length += len(before)
        marks.append((length, length + len(term)))
        length += len(term)
        pos = e
    pieces.append(_flat(source[pos:end]))
    if end < len(source):
        pieces.append("…")
    return "".join(pieces), tuple(marks)


def _flat(text: str) -> str:
    """One line: every run of white space becomes one space (ends kept as one space)."""
    if not text:
        return text
    inner = " ".join(text.split())
    lead = " " if text[0].isspace() else ""
    trail = " " if text[-1].isspace() and inner else ""
    return lead + inner + trail


# ------------------------------------------------------------------------------ output


def _precision(labels: Counter[str]) -> str:
    relevant, irrelevant = labels["relevant"], labels["irrelevant"]
    total = relevant + irrelevant
    if not total:
        return "no labels"
    return f"{relevant} relevant, {irrelevant} irrelevant ({relevant / total:.0%} relevant)"


def _summary(result: Comparison) -> Text:
    out = Text()
    what = result.candidate.name
    if result.baseline is not None:
        what += f" vs {result.baseline.name}"
    headline = f"{safe_text(result.brand)}: {what}" if result.brand else what.capitalize()
    out.append(headline, style="bold")
    out.append(f" over {result.posts:,} stored posts since {to_iso(result.since)}\n")
    width = max(len(s.name) for s in (result.candidate, result.baseline) if s is not None)
    for side, group in ((result.baseline, "baseline"), (result.candidate, "candidate")):
        if side is None:
            continue
        out.append(f"  {side.name:<{width}}  ")
        out.append(safe_text(side.rule), style="cyan")
        out.append(f"\n  {'':<{width}}  matches {result.counts[group]:,} posts")
        if result.brand:
            out.append(f"; labelled: {_precision(result.labelled[group])}")
        out.append("\n")
    if result.baseline is not None:
        counts = result.counts
        out.append(f"  kept {counts['kept']:,}, ")
        out.append(f"gained {counts['gained']:,}", style="green")
        out.append(", ")
        out.append(f"lost {counts['lost']:,}", style="red")
        lost_labels = result.labelled["lost"]
        if lost_labels["irrelevant"] or lost_labels["relevant"]:
            out.append(
                f" (of the lost: {lost_labels['irrelevant']} labelled irrelevant, "
                f"{lost_labels['relevant']} labelled relevant)"
            )
        out.append("\n")
    return out


def _examples_table(title: str, examples: Sequence[Example], *, brand: bool) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    if brand:  # the brand's stored mention (for `mentionwatch show`) and its label
        table.add_column("mention", no_wrap=True, style="cyan")
        table.add_column("label", no_wrap=True)
    table.add_column("published", no_wrap=True)
    table.add_column("matched", overflow="fold", max_width=24)
    table.add_column("title, text where it matched, url", overflow="fold", ratio=1)
    for e in examples:
        where = highlighted(e.title, e.title_highlights)
        where.stylize("bold")
        if e.snippet:
            where.append("\n")
            where.append_text(highlighted(e.snippet, e.highlights))
        where.append("\n")
        where.append(safe_text(e.url), style="dim")
        cells = [Text(e.mention_id[:10] if e.mention_id else "-"), Text(e.label or "")]
        table.add_row(
            *(cells if brand else []),
            Text((e.published or "")[:10]),
            Text(safe_text(", ".join(e.matched))),
            where,
        )
    return table


_TITLES: dict[str, Callable[[Comparison], str]] = {
    "matches": lambda r: f"Matches: {r.counts['candidate']:,}",
    "gained": lambda r: f"Gained (matched by the {r.candidate.name} only): {r.counts['gained']:,}",
    "lost": lambda r: (
        f"Lost (matched by the {r.baseline.name if r.baseline else ''} only): {r.counts['lost']:,}"
    ),
}


def write_comparison(result: Comparison, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        json.dump(result.as_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    out = console()
    out.print(_summary(result))
    for group, examples in result.examples.items():
        if not examples:
            continue
        title = _TITLES[group](result)
        if len(examples) < result.counts["candidate" if group == "matches" else group]:
            title += f", the newest {len(examples)}"
        out.print(_examples_table(title, examples, brand=result.brand is not None))


# ------------------------------------------------------------------------------ the command


@app.command("test-query")
@handle_errors
def backtest_query(
    brand: Annotated[
        str | None,
        typer.Argument(
            metavar="BRAND",
            help="A configured brand. With --query: compare the draft against this brand's "
            "rule in the config. Alone: compare that rule against the mentions stored for it.",
            show_default=False,
        ),
    ] = None,
    draft: Annotated[
        str | None,
        typer.Option(
            "--query",
            metavar="QUERY",
            help="A draft query, e.g. 'acme AND NOT (fruit OR \"apple pie\")'. Without "
            "BRAND: list what it matches.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str,
        typer.Option(metavar="WHEN", help="Posts published since: 30d, 2w, 24h or a date (UTC)."),
    ] = DEFAULT_SINCE,
    limit: Annotated[
        int,
        typer.Option(min=0, metavar="N", help="Examples shown per group (gained, lost)."),
    ] = DEFAULT_LIMIT,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table (people, default) or json (one object).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Re-run a brand's rule or a draft query over stored posts: what it would gain and lose."""
    if brand is None and draft is None:
        raise ConfigError("give a BRAND, a --query, or both (see --help)")
    start = parse_when(since, option="--since")
    cfg = load(config) if brand is not None else optional_config(config)
    chosen = _find_brand(cfg, brand) if brand is not None else None
    name = chosen.name if chosen else "draft"
    candidate = draft_side(draft, name) if draft is not None else None
    baseline: Side | None = None
    if chosen is not None:
        current = Side("current rule", rule_text(chosen), compile_brands([chosen]))
        if candidate is None:
            stored = Side("stored mentions", f"the mentions stored for {chosen.name}")
            candidate, baseline = current, stored
        else:
            baseline = current
    assert candidate is not None
    with open_store(cfg, db, create=False) as database:
        result = compare(
            database,
            brand=chosen.name if chosen else None,
            candidate=candidate,
            baseline=baseline,
            since=start,
            limit=limit,
        )
    write_comparison(result, fmt or OutputFormat.table)
    if for_people(quiet):
        console(stderr=True).print(
            "Only posts stored as a mention of some brand are searched: a post no brand "
            "matched at scan time was not kept.",
            style="dim",
            markup=False,
        )


def _find_brand(cfg: Config | None, name: str) -> Brand:
    brands = cfg.brands if cfg else ()
    for b in brands:
        if b.name.casefold() == name.casefold():
            return b
    known = ", ".join(b.name for b in brands) or "none"
    raise ConfigError(f"unknown brand {name!r}; configured: {known}")
