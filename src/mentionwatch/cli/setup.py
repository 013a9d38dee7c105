"""Getting started: `init` writes a starter config, `check` validates one and shows what it
will do, `demo` scans the bundled sample feeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..config.loader import resolve_db_path
from ..configure import parse_config
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
from .output import (
    Format,
    WideOpt,
    brand_summary,
    console,
    source_summary,
    write_records,
)
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
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep",
            metavar="DIR",
            help="Leave the demo's config and database in DIR, to explore afterwards with "
            "`mentionwatch -c DIR/mentionwatch.yaml mentions` (or digest, inbox).",
            show_default=False,
        ),
    ] = None,
    wide: WideOpt = False,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Scan the bundled sample feeds (served on 127.0.0.1, no internet) into a temporary
    database and show what mentionwatch finds."""
    import tempfile

    from ..demo import demo_config_text, serve_demo_feeds

    if keep is not None:
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--keep: cannot create {keep}: {exc}") from None
    with serve_demo_feeds() as base_url, tempfile.TemporaryDirectory() as tmp:
        home = keep if keep is not None else Path(tmp)
        path = Path(db or GLOBALS.db or home / "mentions.db").absolute()
        # The kept config names its database, so later commands find it without --db.
        text = f"database: {json.dumps(str(path))}\n" + demo_config_text(base_url)
        cfg = parse_config(text, filename=str(home / "mentionwatch.yaml"))
        with open_store(cfg, path) as database:
            report = run_scan(cfg, database, [], quiet)
            records = store.query_mentions(
                database, store.MentionFilter(ids=report.new_mention_ids)
            )
        people = fmt in (None, Format.table)
        if not (people and quiet_mode(quiet)):  # -q: data formats only, no tables
            write_records(records, fmt or Format.table, title="New mentions (demo)", wide=wide)
        if people and not quiet_mode(quiet):
            out = console()
            out.print(brand_summary(records, [b.name for b in cfg.brands]))
            out.print(source_summary(report.sources))
        if keep is not None:
            (keep / "mentionwatch.yaml").write_text(text, encoding="utf-8")
        if people and not quiet_mode(quiet):
            hint = (
                f"Explore: mentionwatch -c {keep / 'mentionwatch.yaml'} mentions  (or digest, "
                "inbox)"
                if keep is not None
                else "Try: mentionwatch init  (writes a starter config), then mentionwatch scan"
            )
            console().print(hint, markup=False)
    if report.failed:
        raise typer.Exit(1)
