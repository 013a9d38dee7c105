"""Thin Typer commands: parse options, call one library function, render the result.

``cli.base.handle_errors`` is the only place that turns MentionwatchError into a message
and an exit code: 0 ok; 1 some sources failed (or delivery failed); 2 usage or
configuration error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import sqlite_utils
import typer

from .. import pipeline
from ..analysis.sentiment import ENGINES
from ..config.loader import Config, resolve_db_path
from ..config.model import Brand
from ..errors import ConfigError
from ..models import RunReport, SourceReport, Span
from ..store import db as store
from ..textutil import safe_text
from ..timeutil import parse_when
from .base import (
    GLOBALS,
    ConfigOpt,
    DbOpt,
    FormatOpt,
    QuietOpt,
    WaitOpt,
    app,
    for_people,
    handle_errors,
    load,
    open_store,
    optional_config,
    quiet_mode,
)
from .output import Format, brand_summary, console, source_summary, write_records, write_rows

# ------------------------------------------------------------------ commands


@app.command()
@handle_errors
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the starter config.")] = Path(
        "mentionwatch.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config."""
    from importlib.resources import files

    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (use --force to overwrite)")
    text = files("mentionwatch").joinpath("data/starter.yaml").read_text(encoding="utf-8")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from None
    console(stderr=True).print(
        f"Wrote {path}. Edit the brands and sources, then run: mentionwatch -c {path} check",
        markup=False,
    )


@app.command()
@handle_errors
def check(config: ConfigOpt = None, db: DbOpt = None, quiet: QuietOpt = False) -> None:
    """Validate the config; list brands, sources and what each brand matches."""
    from ..analysis.matcher import compile_brands

    cfg = load(config)
    matcher = compile_brands(cfg.brands)
    out = console()
    out.print(f"config:   {cfg.path}", markup=False)
    out.print(f"database: {resolve_db_path(cfg, db or GLOBALS.db)}", markup=False)
    out.print(
        f"settings: concurrency={cfg.settings.concurrency} timeout={cfg.settings.timeout:g}s "
        f"sentiment={cfg.settings.sentiment}",
        markup=False,
    )
    out.print(f"\nbrands ({len(cfg.brands)}):", markup=False)
    for name, lines in matcher.describe().items():
        out.print(f"  {name}", markup=False)
        for line in lines:
            out.print(f"    {line}", markup=False)
    out.print(f"\nsources ({len(cfg.sources)}):", markup=False)
    for s in cfg.sources:
        where = s.url or s.base_url or ""
        opts = " ".join(f"{k}={v}" for k, v in s.options)
        out.print(f"  {s.name}  [{s.type}] {where} {opts}".rstrip(), markup=False, soft_wrap=True)
    if not quiet_mode(quiet):
        console(stderr=True).print("\nconfig OK", style="green")


def _print_run(report: RunReport, quiet: bool) -> None:
    err = console(stderr=True)
    if for_people(quiet):
        err.print(source_summary(report.sources))
        seconds = (report.finished - report.started).total_seconds()
        err.print(
            f"{len(report.new_mention_ids)} new mention(s) from {len(report.sources)} source(s) "
            f"in {seconds:.1f}s",
            markup=False,
        )
        return
    # Without a terminal (cron), failures still reach stderr: cron mails it to someone.
    for r in report.failed:
        err.print(f"error: source {safe_text(r.name)}: {safe_text(r.error)}", markup=False)


def _run_scan(
    cfg: Config, database: sqlite_utils.Database, only: list[str], quiet: bool
) -> RunReport:
    if not for_people(quiet):
        return pipeline.scan(cfg, database, only=only)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    total = len(pipeline.select_sources(cfg, only))
    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)

        def advance(r: SourceReport) -> None:
            bar.update(task, advance=1, description=safe_text(r.name)[:40])

        return pipeline.scan(cfg, database, only=only, progress=advance)


@app.command()
@handle_errors
def scan(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source", "-s", help="Scan only this source (repeatable).", show_default=False
        ),
    ] = None,
    fmt: FormatOpt = None,
    alerts: Annotated[
        bool,
        typer.Option(
            "--alerts",
            help="After the scan, evaluate the config's alert rules and deliver what fired.",
        ),
    ] = False,
    wait: WaitOpt = 0.0,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fetch every source, store new mentions once, print them."""
    from ..report import alerts as alerting
    from .alerts import alert_rules, report_run

    cfg = load(config)
    rules = alert_rules(cfg) if alerts else None  # a missing section is exit 2, before fetching
    run = None
    with open_store(cfg, db, lock="scan", wait=wait) as database:
        report = _run_scan(cfg, database, source or [], quiet)
        records = store.query_mentions(database, store.MentionFilter(ids=report.new_mention_ids))
        # --quiet silences the table for people; asked-for data is still printed.
        if fmt is not None or not quiet_mode(quiet):
            write_records(records, fmt or Format.table, title="New mentions")
        if for_people(quiet) and records:
            console(stderr=True).print(brand_summary(records, [b.name for b in cfg.brands]))
        _print_run(report, quiet)
        if rules is not None:
            # Inside the scan's lock: alerts see exactly what this scan stored.
            run = alerting.run_alerts(rules, cfg.email, database, settings=cfg.settings)
    if run is not None and rules is not None:
        report_run(run, quiet, alerting.duration_text(rules.deliver.max_age), list_fired=True)
    if report.failed or (run is not None and not run.ok):
        raise typer.Exit(1)


@app.command()
@handle_errors
def mentions(
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source name.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Published after: 24h, 7d, 30m, 2w or an ISO date.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Published before (same forms).")] = None,
    sentiment: Annotated[str | None, typer.Option(help="positive, neutral or negative.")] = None,
    status: Annotated[
        str | None, typer.Option(help="new, open, responded, ignored or irrelevant.")
    ] = None,
    include_irrelevant: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Include mentions labelled irrelevant (left out unless --status irrelevant).",
        ),
    ] = False,
    search: Annotated[
        str | None, typer.Option(help='Full-text query (SQLite FTS5: words, "phrases", OR, NOT).')
    ] = None,
    flag: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only mentions flagged by this policy rule."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    fmt: FormatOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List stored mentions, newest first, filtered."""
    if sentiment is not None and sentiment not in ("positive", "neutral", "negative"):
        raise ConfigError(f"--sentiment: expected positive, neutral or negative, got {sentiment!r}")
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
        records = store.query_mentions(database, filt)
    write_records(records, fmt or Format.table)


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


@app.command("sentiment")
@handle_errors
def sentiment_cmd(
    text: Annotated[
        str | None, typer.Argument(help="Text to score; without it, each line of stdin.")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(help="Engine: " + "; ".join(f"{k} = {v}" for k, v in ENGINES.items())),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="Score only the sentences about this keyword (as a brand would)."),
    ] = None,
) -> None:
    """Score TEXT (or stdin lines): JSON lines {text, score, label, engine}."""
    from ..analysis.matcher import compile_brands
    from ..analysis.sentiment import analyze, get_scorer

    chosen = engine or "vader"
    if chosen not in ENGINES:
        raise ConfigError(f"--engine: unknown engine {chosen!r}; known: {', '.join(ENGINES)}")
    get_scorer(chosen)
    matcher = compile_brands([Brand(name=target, keywords=(target,))]) if target else None
    lines = [text] if text is not None else (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        spans: tuple[Span, ...] = ()
        if matcher is not None:
            found = matcher.match("", line)
            # Spans index "title\ntext"; with an empty title, shift back by one.
            spans = tuple(Span(s.start - 1, s.end - 1, s.term) for m in found for s in m.spans)
        result = analyze(line, engine=chosen, spans=spans)
        row: dict[str, Any] = {
            "text": line,
            "score": result.score,
            "label": result.label,
            "engine": result.engine,
        }
        if target is not None:
            row["target"] = target
            row["target_found"] = bool(spans)
        print(json.dumps(row, ensure_ascii=False), flush=text is None)


@app.command()
@handle_errors
def sources(
    fmt: FormatOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Per-source health: last success, last error, items, mentions, latency."""
    from ..report.health import FIELDS, health_rows, health_table

    cfg = load(config)
    with open_store(cfg, db) as database:
        rows = health_rows(cfg, store.source_health(database))
    write_rows(rows, fmt or Format.table, table=health_table, fields=FIELDS)


@app.command()
@handle_errors
def demo(
    fmt: FormatOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Scan the bundled sample feeds (served on 127.0.0.1, no internet) into a temporary
    database and show what mentionwatch finds."""
    import tempfile

    from ..demo import demo_config, serve_demo_feeds

    with serve_demo_feeds() as base_url, tempfile.TemporaryDirectory() as tmp:
        cfg = demo_config(base_url)
        path = db or GLOBALS.db or Path(tmp) / "demo.db"
        with open_store(cfg, path) as database:
            report = _run_scan(cfg, database, [], quiet)
            records = store.query_mentions(
                database, store.MentionFilter(ids=report.new_mention_ids)
            )
        write_records(records, fmt or Format.table, title="New mentions (demo)")
        if fmt in (None, Format.table):
            out = console()
            out.print(brand_summary(records, [b.name for b in cfg.brands]))
            out.print(source_summary(report.sources))
            out.print(
                "Try: mentionwatch init  (writes a starter config), then mentionwatch scan",
                markup=False,
            )
    if report.failed:
        raise typer.Exit(1)
