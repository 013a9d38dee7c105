"""Getting started: `init` writes a starter config, `check` validates one and shows what it
will do, `demo` scans the bundled sample feeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..config.loader import resolve_db_path
from ..errors import ConfigError
from ..store import db as store
from .base import (
    GLOBALS,
    ConfigOpt,
    DbOpt,
    FormatOpt,
    QuietOpt,
    app,
    handle_errors,
    load,
    open_store,
    quiet_mode,
)
from .output import Format, brand_summary, console, source_summary, write_records
from .scan import run_scan


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
            report = run_scan(cfg, database, [], quiet)
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
