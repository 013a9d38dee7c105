"""Reading the store: `mentions` (filtered lists in every format), `show` (one mention and
why it matched), `sources` (per-source health).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ..errors import ConfigError
from ..store import db as store
from ..textutil import safe_text
from ..timeutil import parse_when
from ..webcare.inbox import LISTABLE
from .base import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    QuietOpt,
    app,
    check_brand,
    handle_errors,
    load,
    open_store,
    optional_config,
)
from .output import (
    MENTION_COLUMNS,
    Cell,
    Column,
    Format,
    WideOpt,
    columns_option,
    columns_table,
    console,
    fit,
    pick_columns,
    short_when,
    write_records,
    write_rows,
)

# What --status accepts: the inbox statuses and "irrelevant" (from relevance labels).
MENTION_STATUSES = (*LISTABLE, "irrelevant")


@app.command()
@handle_errors
def mentions(
    brand: Annotated[str | None, typer.Option(metavar="NAME", help="Only this brand.")] = None,
    source: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this source name.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="Published after: 24h, 7d, 30m, 2w or an ISO date."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar="WHEN", help="Published before (same forms).")
    ] = None,
    sentiment: Annotated[
        str | None, typer.Option(metavar="LABEL", help="positive, neutral or negative.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATUS", help="new, open, responded, ignored or irrelevant."),
    ] = None,
    include_irrelevant: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Include mentions labelled irrelevant (left out unless --status irrelevant).",
        ),
    ] = False,
    search: Annotated[
        str | None,
        typer.Option(
            metavar="QUERY", help='Full-text query (SQLite FTS5: words, "phrases", OR, NOT).'
        ),
    ] = None,
    flag: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only mentions flagged by this policy rule."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, metavar="N", help="At most this many, newest first.")
    ] = 50,
    fmt: FormatOpt = None,
    wide: WideOpt = False,
    columns: Annotated[str | None, columns_option(MENTION_COLUMNS)] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List stored mentions, newest first, filtered."""
    chosen = pick_columns(columns, MENTION_COLUMNS)
    if sentiment is not None and sentiment not in ("positive", "neutral", "negative"):
        raise ConfigError(f"--sentiment: expected positive, neutral or negative, got {sentiment!r}")
    if status is not None and status not in MENTION_STATUSES:
        raise ConfigError(f"--status: expected {', '.join(MENTION_STATUSES)}, got {status!r}")
    filt = store.MentionFilter(
        brand=brand,
        source=source,
        since=parse_when(since, option="--since") if since else None,
        until=parse_when(until, option="--until") if until else None,
        sentiment=sentiment,
        status=status,
        search=search,
        limit=limit,
        include_irrelevant=include_irrelevant,
        flag=flag,
    )
    cfg = optional_config(config)
    with open_store(cfg, db, create=False) as database:
        check_brand(database, cfg, brand)
        records = store.query_mentions(database, filt)
    write_records(records, fmt or Format.table, wide=wide, columns=chosen)


@app.command()
@handle_errors
def show(
    mention_id: Annotated[
        str, typer.Argument(metavar="ID", help="Mention id (or a unique prefix).")
    ],
    fmt: FormatOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """One mention in full, with the terms that matched and where, its policy flags
    and its history (status, assignee, notes)."""
    from ..analysis.explain import render_mention
    from ..webcare.inbox import details

    cfg = optional_config(config)
    with open_store(cfg, db, create=False) as database:
        record = store.get_mention(database, mention_id)
        record.update(details(database, record["id"]))
    if fmt in (Format.json, Format.jsonl):
        print(json.dumps(record, ensure_ascii=False, indent=2 if fmt is Format.json else None))
    elif fmt is Format.csv:
        write_records([record], Format.csv)
    else:
        console().print(render_mention(record))


# ----------------------------------------------------------------- sources

_HEALTH_STYLE = {"ok": "green", "not-modified": "dim", "error": "bold red"}


def _last_success(r: dict[str, Any], width: int | None) -> str:
    success = (r["last_success"] or "never")[:16].replace("T", " ")
    return short_when(success, width) if success != "never" else success


def _last_error(r: dict[str, Any], width: int | None) -> Text:
    error = ""
    if r["last_status"] == "warning":
        error = "; ".join(r["last_warnings"])
    elif r["last_error"]:
        error = f"{(r['last_error_at'] or '')[:16]} {r['last_error']}"
    return Text(safe_text(error), style="red")


def _count(key: str) -> Cell:
    return lambda r, w: str(r[key] if r[key] is not None else "-")


SOURCE_COLUMNS: tuple[Column, ...] = (
    Column("source", lambda r, w: Text(safe_text(r["name"])), max_width=16),
    Column("type", lambda r, w: r["type"], wide_only=True),
    Column(
        "status",
        lambda r, w: Text(r["last_status"], style=_HEALTH_STYLE.get(r["last_status"], "yellow")),
    ),
    Column("last-success", _last_success, header="last success"),
    Column("items", _count("last_items"), justify="right"),
    Column("new", _count("last_mentions"), justify="right"),
    Column(
        "latency",
        lambda r, w: f"{r['last_seconds']:.2f}s" if r["last_seconds"] is not None else "-",
        justify="right",
        wide_only=True,
    ),
    Column("last-error", _last_error, header="last error", flex=True),
)


def health_table(
    rows: Sequence[dict[str, Any]], width: int | None = None, columns: Sequence[str] | None = None
) -> Table:
    """One line per source when ``width`` (the terminal's columns) is given: below 100
    columns the type and latency go and the error is cut with "…"; ``None`` shows all."""
    return columns_table("Sources", SOURCE_COLUMNS, rows, width, columns)


@app.command()
@handle_errors
def sources(
    fmt: FormatOpt = None,
    wide: WideOpt = False,
    columns: Annotated[str | None, columns_option(SOURCE_COLUMNS)] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Per-source health: last success, last error, items, mentions, latency."""
    from ..report.health import FIELDS, health_rows

    chosen = pick_columns(columns, SOURCE_COLUMNS)
    cfg = load(config)
    with open_store(cfg, db) as database:
        rows = health_rows(cfg, store.source_health(database))
    write_rows(
        rows,
        fmt or Format.table,
        table=fit(lambda rows, width: health_table(rows, width, chosen), wide=wide),
        fields=FIELDS,
        wide=wide,
    )
