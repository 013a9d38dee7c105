"""Rows to output: rich tables for people, JSON / JSONL / CSV for programs.

stdout carries data only; everything for people goes to stderr. Untrusted text
(titles, bodies, authors) is rendered as inert text: rich markup is never
interpreted and control characters / escape sequences never reach the terminal.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..models import SourceReport
from ..store.db import RECORD_FIELDS
from ..textutil import safe_text


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class SafeConsole(Console):
    """A rich Console that never writes a control character it was handed as text.

    Every plain string printed, or placed in a table cell, passes through
    ``render_str``: here it loses escape sequences and control characters first
    (tabs and line breaks stay). Untrusted text should still be wrapped in
    ``Text(safe_text(...))`` where it is shown (that also keeps rich markup inert);
    this is the net under that rule, for strings that reach the terminal by another
    road (a pasted config value in `check`, a message quoting a server).
    """

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(safe_text(text, one_line=False), **kwargs)


def console(stderr: bool = False) -> Console:
    """A console that colours only a real terminal (and obeys NO_COLOR)."""
    stream = sys.stderr if stderr else sys.stdout
    # soft_wrap: messages keep their own lines (no hard breaks at 80 columns in logs).
    return SafeConsole(file=stream, highlight=False, soft_wrap=True, emoji=False)


def _short(value: Any, width: int) -> str:
    s = safe_text(value)
    return s if len(s) <= width else s[: width - 1] + "…"


_SENTIMENT_STYLE = {"positive": "green", "negative": "red", "neutral": "dim"}


def mentions_table(records: Sequence[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("id", no_wrap=True, style="cyan")
    table.add_column("brand", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("published", no_wrap=True)
    table.add_column("sent.", justify="right", no_wrap=True)
    table.add_column("title / text", overflow="fold", ratio=1)
    table.add_column("author", overflow="fold", max_width=18)
    for r in records:
        headline = r["title"] or r["text"]
        label = r.get("sentiment_label") or "neutral"
        score = r.get("sentiment")
        table.add_row(
            Text(r["id"][:10]),
            Text(safe_text(r["brand"])),
            Text(_short(r["source"], 24)),
            # An undated post shows no date: its fetch time would pass for one.
            Text((r.get("published") or "—")[:16].replace("T", " ")),
            Text(f"{score:+.2f}" if score is not None else "", style=_SENTIMENT_STYLE[label]),
            Text(_short(headline, 120)),
            Text(_short(r.get("author"), 30)),
        )
    return table


def write_rows(
    rows: Sequence[dict[str, Any]],
    fmt: Format,
    *,
    table: Callable[[Sequence[dict[str, Any]]], Table],
    fields: Sequence[str],
    out: TextIO | None = None,
    empty: str = "Nothing to show.",
) -> None:
    """Rows as a table for people, or as data: JSON array, JSON lines, CSV.

    In CSV, list values are joined with "; " (spreadsheets have no lists).
    """
    out = out or sys.stdout
    if fmt is Format.table:
        if not rows:
            if out.isatty():
                console(stderr=True).print(empty, style="dim")
            return
        SafeConsole(file=out, highlight=False, emoji=False).print(table(rows))
    elif fmt is Format.json:
        json.dump(list(rows), out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt is Format.jsonl:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    else:
        writer = csv.DictWriter(out, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {k: "; ".join(map(str, v)) if isinstance(v, list) else v for k, v in r.items()}
            )


def write_records(
    records: Sequence[dict[str, Any]],
    fmt: Format,
    out: TextIO | None = None,
    *,
    title: str | None = None,
) -> None:
    """Mention records (the JSON record of DESIGN.md) in any format."""
    write_rows(
        records,
        fmt,
        table=lambda rows: mentions_table(rows, title),
        fields=RECORD_FIELDS,
        out=out,
        empty="No mentions.",
    )


def source_summary(reports: Iterable[SourceReport]) -> Table:
    table = Table(title="Sources", title_justify="left")
    for col, justify in [
        ("source", "left"),
        ("type", "left"),
        ("status", "left"),
        ("items", "right"),
        ("new", "right"),
        ("time", "right"),
        ("detail", "left"),
    ]:
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    styles = {"ok": "green", "not-modified": "dim", "error": "bold red"}
    for r in reports:
        detail = r.error or "; ".join(r.warnings)
        status = "warning" if r.warnings and r.status == "ok" else r.status
        table.add_row(
            Text(safe_text(r.name)),
            r.type,
            Text(status, style=styles.get(status, "yellow")),
            str(r.items),
            str(r.new_mentions),
            f"{r.seconds:.2f}s",
            Text(safe_text(detail), style="red" if r.error else "yellow"),
        )
    return table


def brand_summary(records: Sequence[dict[str, Any]], brands: Sequence[str]) -> Table:
    """Per brand: how many mentions and how they split by sentiment."""
    table = Table(title="Brands", title_justify="left")
    for col in ("brand", "mentions", "positive", "neutral", "negative", "avg"):
        table.add_column(col, justify="left" if col == "brand" else "right")
    by_brand: dict[str, list[dict[str, Any]]] = {b: [] for b in brands}
    for r in records:
        by_brand.setdefault(r["brand"], []).append(r)
    for brand, rows in by_brand.items():
        labels = Counter(r["sentiment_label"] for r in rows)
        scores = [r["sentiment"] for r in rows if r["sentiment"] is not None]
        avg = f"{sum(scores) / len(scores):+.2f}" if scores else "-"
        table.add_row(
            Text(safe_text(brand)),
            str(len(rows)),
            Text(str(labels["positive"]), style="green"),
            str(labels["neutral"]),
            Text(str(labels["negative"]), style="red"),
            avg,
        )
    return table
