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
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

import typer
from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress

from ..errors import ConfigError
from ..models import SourceReport
from ..store.db import RECORD_FIELDS
from ..textutil import safe_text

WideOpt = Annotated[
    bool,
    typer.Option(
        "--wide", help="Tables: every column, full text (wraps), not fitted to the terminal."
    ),
]


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


# Below this many columns a table drops its borders and low-value columns so that a
# mention still fits on one line with a readable title (80 is every pipe's width).
NARROW = 100
WIDE = 200  # the columns --wide draws in, whatever the terminal's width


class Fitted:
    """A table built for the width it is drawn at, which only the console knows.

    ``build(width)`` gets the columns available (``None`` for ``--wide``: every
    column, nothing cut).
    """

    def __init__(self, build: Callable[[int | None], Table]) -> None:
        self._build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._build(options.max_width)


RowsTable = Callable[[Sequence[dict[str, Any]], int | None], Table]


def fit(build: RowsTable, *, wide: bool = False) -> Callable[[Sequence[dict[str, Any]]], Fitted]:
    """``build(rows, width)`` as ``write_rows`` wants it: fitted to the terminal, or wide."""
    return lambda rows: Fitted(lambda width: build(rows, None if wide else width))


def new_table(title: str | None, width: int | None) -> Table:
    """A table for ``width`` columns: borderless, two spaces between columns when narrow."""
    if width is not None and width < NARROW:
        return Table(
            title=title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
            expand=False,
        )
    return Table(title=title, title_justify="left", expand=False)


def short_when(iso: str | None, width: int | None) -> str:
    """``2026-11-20T09:15:00Z`` as ``11-20 09:15`` when narrow, else ``2026-11-20 09:15``."""
    when = (iso or "")[:16].replace("T", " ")
    return when[5:] if width is not None and width < NARROW else when


def add_text_column(table: Table, header: str, width: int | None, **kwargs: Any) -> None:
    """The column that gets whatever width is left (fill it with ``line``).

    It is the only column rich may narrow (the others are ``no_wrap``), so the short
    columns keep their width and this one shrinks, down to 24 characters.
    """
    if width is None:
        table.add_column(header, overflow="fold", ratio=1, **kwargs)
    else:
        table.add_column(header, overflow="ellipsis", ratio=1, min_width=24, **kwargs)


def line(text: str, width: int | None, style: str = "") -> Text:
    """A text cell: one line cut with "…" when fitted to ``width``, whole with --wide."""
    if width is None:
        return Text(text, style=style)
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


# ------------------------------------------------------------------ named columns

Cell = Callable[[dict[str, Any], int | None], RenderableType]


@dataclass(frozen=True, slots=True)
class Column:
    """One column a table can show, under the name ``--columns`` uses for it.

    ``cell(row, width)`` draws it (``width`` as ``Fitted`` passes it: ``None`` for
    ``--wide``). By default a table shows its columns in order, less the ``optional`` ones
    (shown only when asked for) and, below NARROW columns, the ``wide_only`` ones. A
    ``flex`` column (the title, the summary, the why) gives up width when the line is too
    long, the widest first, its cells cut with "…"; the others keep their width (up to
    ``max_width``, ``narrow_max`` when narrow; longer values are cut with "…" too).
    """

    name: str
    cell: Cell
    header: str = ""  # default: the name
    flex: bool = False
    max_width: int | None = None
    narrow_max: int | None = None
    wide_only: bool = False
    optional: bool = False
    justify: Literal["left", "right"] = "left"
    style: str = ""


def columns_help(columns: Sequence[Column]) -> str:
    """The sentence ``--columns`` help ends with: every name, the default ones first."""
    shown = [c.name for c in columns if not c.optional]
    extra = [c.name for c in columns if c.optional]
    more = f"; also: {', '.join(extra)}" if extra else ""
    return f"Columns: {', '.join(shown)}{more}."


def columns_option(columns: Sequence[Column]) -> Any:
    """``--columns NAME,...`` for a table of ``columns`` (its help lists the names)."""
    return typer.Option(
        "--columns",
        metavar="NAME,...",
        help="Tables: only these columns, in this order (a comma list). " + columns_help(columns),
        show_default=False,
    )


def pick_columns(value: str | None, columns: Sequence[Column]) -> tuple[str, ...] | None:
    """``--columns`` checked against the table's names: None (the default set), or the
    names asked for. An unknown name is a usage error that lists the valid ones."""
    if value is None:
        return None
    names = {c.name for c in columns}
    asked = tuple(n.strip().lower() for n in value.split(",") if n.strip())
    unknown = [n for n in asked if n not in names]
    if unknown or not asked:
        what = f"unknown column {unknown[0]!r}" if unknown else "no column named"
        valid = ", ".join(c.name for c in columns)
        raise ConfigError(f"--columns: {what}; valid: {valid}")
    return tuple(dict.fromkeys(asked))  # a name given twice is shown once


def columns_table(
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    width: int | None,
    chosen: Sequence[str] | None = None,
    *,
    row_style: Callable[[dict[str, Any]], str | None] | None = None,
) -> Table:
    """``rows`` as a table of ``columns`` (``chosen`` ones, or the default set for the
    width), one line a row when fitted to ``width``; ``None`` shows everything, wrapped.
    A row with a true ``"_section"`` starts a new section (a line above it)."""
    narrow = width is not None and width < NARROW
    by_name = {c.name: c for c in columns}
    if chosen:
        shown = [by_name[n] for n in chosen]
    else:
        shown = [c for c in columns if not c.optional and not (narrow and c.wide_only)]
    table = new_table(title, width)
    for c in shown:
        # A header is one line too: cut with "…" rather than wrapped into two.
        name = c.header or c.name
        header: str | Text = name
        if width is not None:
            header = Text(name, no_wrap=True, overflow="ellipsis")
        if width is None:
            table.add_column(
                header,
                overflow="fold",
                justify=c.justify,
                style=c.style,
                ratio=1 if c.flex else None,
            )
        elif c.flex:
            # Not no_wrap: that is what lets rich narrow these columns (and only these);
            # their cells are no_wrap Text, so a narrowed cell is cut with "…", not wrapped.
            # No min_width: rich honours it after fitting, and floors that add up to more
            # than the terminal has make the console crop the line's end (its border, its
            # "…"). The title keeps its ~24 characters at 80 columns because the narrow
            # defaults leave out the low-value columns (tests/test_tables.py).
            table.add_column(
                header, overflow="ellipsis", justify=c.justify, style=c.style,
                max_width=(c.narrow_max or c.max_width) if narrow else c.max_width,
            )  # fmt: skip
        else:
            table.add_column(
                header, overflow="ellipsis", no_wrap=True, justify=c.justify, style=c.style,
                max_width=(c.narrow_max or c.max_width) if narrow else c.max_width,
            )  # fmt: skip
    for i, row in enumerate(rows):
        if i and row.get("_section"):
            table.add_section()
        cells = []
        for c in shown:
            cell = c.cell(row, width)
            if isinstance(cell, str):
                cell = Text(cell)
            if width is not None and isinstance(cell, Text):
                cell.no_wrap, cell.overflow = True, "ellipsis"  # one line, cut with "…"
            cells.append(cell)
        table.add_row(*cells, style=row_style(row) if row_style else None)
    return table


# ------------------------------------------------------------------ mentions

_SENTIMENT_STYLE = {"positive": "green", "negative": "red", "neutral": "dim"}


def _score_cell(r: dict[str, Any], width: int | None) -> Text:
    score = r.get("sentiment")
    label = r.get("sentiment_label") or "neutral"
    return Text(f"{score:+.2f}" if score is not None else "", style=_SENTIMENT_STYLE[label])


def _published_cell(r: dict[str, Any], width: int | None) -> Text:
    # An undated post shows no date: its fetch time would pass for one.
    return Text(short_when(r.get("published"), width) if r.get("published") else "—")


def short_id(r: dict[str, Any], width: int | None) -> Text:
    """7 characters of the id when narrow (as git does), 10 otherwise."""
    return Text(r["id"][:7] if width is not None and width < NARROW else r["id"][:10])


def _cut(limit: int) -> Callable[[Any, int | None], str]:
    """Text cut to ``limit`` characters when fitted (a cell is one line anyway)."""
    return lambda value, width: _short(value, limit if width is not None else 100_000)


MENTION_COLUMNS: tuple[Column, ...] = (
    Column("id", short_id, style="cyan"),
    Column("brand", lambda r, w: Text(safe_text(r["brand"])), max_width=16, narrow_max=10),
    Column("source", lambda r, w: Text(_short(r["source"], 24)), max_width=24, narrow_max=10),
    Column("date", _published_cell),
    Column("score", _score_cell, justify="right"),
    Column("title", lambda r, w: _cut(120)(r["title"] or r["text"], w), flex=True),
    Column("author", lambda r, w: _cut(30)(r.get("author"), w), max_width=18, wide_only=True),
    Column("status", lambda r, w: Text(safe_text(r.get("status") or "")), optional=True),
    Column("url", lambda r, w: _cut(300)(r.get("url"), w), flex=True, optional=True),
)


def mentions_table(
    records: Sequence[dict[str, Any]],
    title: str | None = None,
    width: int | None = None,
    columns: Sequence[str] | None = None,
) -> Table:
    """Mentions, one line each when ``width`` is given (the author goes when narrow)."""
    return columns_table(title, MENTION_COLUMNS, records, width, columns)


def write_rows(
    rows: Sequence[dict[str, Any]],
    fmt: Format,
    *,
    table: Callable[[Sequence[dict[str, Any]]], RenderableType],
    fields: Sequence[str],
    out: TextIO | None = None,
    empty: str = "Nothing to show.",
    wide: bool = False,
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
        con = SafeConsole(file=out, highlight=False, emoji=False)
        if wide:  # every column at its natural width: for a pager (less -S) or a file
            con.width = max(con.width, WIDE)
        con.print(table(rows))
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
    wide: bool = False,
    columns: Sequence[str] | None = None,
) -> None:
    """Mention records (the JSON record of DESIGN.md) in any format.

    The table fits the terminal (80 columns in a pipe) unless ``wide``; ``columns``:
    the MENTION_COLUMNS to show (default: those that fit).
    """
    write_rows(
        records,
        fmt,
        table=fit(lambda rows, width: mentions_table(rows, title, width, columns), wide=wide),
        fields=RECORD_FIELDS,
        out=out,
        empty="No mentions.",
        wide=wide,
    )


def source_summary(reports: Iterable[SourceReport]) -> Fitted:
    """The scan's per-source outcome, one line per source at any width."""
    reports = list(reports)

    def build(width: int | None) -> Table:
        narrow = width is not None and width < NARROW
        table = new_table("Sources", width)
        table.add_column("source", no_wrap=True, overflow="ellipsis", max_width=16)
        if not narrow:
            table.add_column("type", no_wrap=True)
        table.add_column("status", no_wrap=True)
        for col in ("items", "new", "time"):
            table.add_column(col, justify="right", no_wrap=True)
        add_text_column(table, "detail", width)
        styles = {"ok": "green", "not-modified": "dim", "error": "bold red"}
        for r in reports:
            detail = r.error or "; ".join(r.warnings)
            cells: list[RenderableType] = [Text(safe_text(r.name))]
            if not narrow:
                cells.append(r.type)
            status = "warning" if r.warnings and r.status == "ok" else r.status
            cells += [
                Text(status, style=styles.get(status, "yellow")),
                str(r.items),
                str(r.new_mentions),
                f"{r.seconds:.2f}s",
                line(safe_text(detail), width, style="red" if r.error else "yellow"),
            ]
            table.add_row(*cells)
        return table

    return Fitted(build)


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


def progress_bar(label: str, *, detail: bool = False) -> Progress:
    """The bar long commands draw on stderr (scan, rescore): "LABEL ━━━ 3/40", with the
    current item's name after it when ``detail``; gone from the screen once done."""
    # Imported here: only a person at a terminal pays for it (start-up stays lean).
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn

    columns: list[ProgressColumn] = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    if detail:
        columns.append(TextColumn("{task.description}"))
    return Progress(*columns, console=console(stderr=True), transient=True)
