"""Getting started: `init` writes a starter config, `check` validates one and shows what it
will do, `demo` scans the bundled sample feeds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ..config.loader import Config, resolve_db_path
from ..configure import parse_config
from ..errors import ConfigError
from ..store import db as store
from ..webcare.inbox import span_text
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


def starter_config(brand: str) -> str:
    """The starter config for ``brand``: sources that need no account, nothing that
    points at example.com, so the first `scan` works as written."""
    from importlib.resources import files

    tag = "".join(ch for ch in brand.casefold() if ch.isalnum())
    if not tag:
        raise ConfigError(f"--brand: {brand!r} has no letters or digits to search for")
    template = files("mentionwatch").joinpath("data/starter.yaml").read_text(encoding="utf-8")
    # JSON strings are YAML strings: a brand with a colon or a quote stays one value.
    return template.format(
        brand=json.dumps(brand, ensure_ascii=False),
        bare=brand,
        hashtag=json.dumps(f"#{tag}"),
        tag=tag,
    )


@app.command()
@handle_errors
def init(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Where to write the starter config.")
    ] = Path("mentionwatch.yaml"),
    brand: Annotated[
        str | None,
        typer.Option(
            "--brand",
            metavar="NAME",
            help="The brand to watch (asked on a terminal when not given).",
            show_default=False,
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Write sources.example.yaml instead: every key and source type, commented.",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a starter config: your brand and five sources that need no account (Hacker
    News, Google News, Bing News, Reddit, Mastodon), ready for `mentionwatch scan`."""
    import sys
    from importlib.resources import files

    if full:
        if path == Path("mentionwatch.yaml"):
            path = Path("sources.example.yaml")
        text = files("mentionwatch").joinpath("data/sources.example.yaml").read_text("utf-8")
    else:
        if brand is None:
            if not sys.stdin.isatty():
                raise ConfigError("init: which brand? pass --brand NAME (no terminal to ask on)")
            brand = typer.prompt("Brand to watch")
        brand = brand.strip()
        if not brand:
            raise ConfigError("--brand: empty")
        text = starter_config(brand)
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (use --force to overwrite)")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from None
    if not quiet_mode(quiet):
        console(stderr=True).print(
            f"Wrote {path}. Check it, then scan: mentionwatch -c {path} check && "
            f"mentionwatch -c {path} scan",
            markup=False,
        )


def _env_warnings(cfg: Config) -> list[str]:
    """Each environment variable the config names (secrets never sit in the YAML) that
    is not set, as ``where: NAME is not set``."""
    named: list[tuple[str, str]] = []
    if cfg.email is not None and cfg.email.password_env:
        named.append(("email.password_env", cfg.email.password_env))
    if cfg.alerts is not None and cfg.alerts.deliver.webhook_url_env:
        named.append(("alerts.deliver.webhook_url_env", cfg.alerts.deliver.webhook_url_env))
    for src in cfg.sources:
        for key, value in src.options:
            if key.endswith("_env") and isinstance(value, str):
                named.append((f"sources.{src.name}.{key}", value))
    return [f"{where}: {name} is not set" for where, name in named if not os.environ.get(name)]


@app.command()
@handle_errors
def check(config: ConfigOpt = None, db: DbOpt = None, quiet: QuietOpt = False) -> None:
    """Validate the config and report every section it read: brands (with roles and
    exclusions), sources, email, alerts, policy, inbox. Warns about each environment
    variable the config names that is not set (exit 0 with warnings, 2 on errors)."""
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
    roles = {b.name: b for b in cfg.brands}
    for name, lines in matcher.describe().items():
        brand = roles[name]
        out.print(f"  {name}  (role: {brand.role})", markup=False)
        for line in lines:
            out.print(f"    {line}", markup=False)
        for key in ("exclude_authors", "exclude_domains", "exclude_sources"):
            if values := getattr(brand, key):
                out.print(f"    {key}: {', '.join(values)}", markup=False)
    out.print(f"\nsources ({len(cfg.sources)}):", markup=False)
    for s in cfg.sources:
        where = s.url or s.base_url or ""
        opts = " ".join(f"{k}={v}" for k, v in s.options)
        out.print(f"  {s.name}  [{s.type}] {where} {opts}".rstrip(), markup=False, soft_wrap=True)
    for line in _sections(cfg):
        out.print(line, markup=False, soft_wrap=True)
    warnings = _env_warnings(cfg)
    err = console(stderr=True)
    for warning in warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    if not quiet_mode(quiet):
        err.print(
            f"\nconfig OK ({len(warnings)} warning(s))" if warnings else "\nconfig OK",
            style="yellow" if warnings else "green",
            markup=False,
        )


def _sections(cfg: Config) -> list[str]:
    """One paragraph per optional section: what it says, or that it is absent."""
    lines = []
    if cfg.email is None:
        lines.append("\nemail: none (digest --email and alert e-mails are off)")
    else:
        e = cfg.email
        security = "tls" if e.tls else "starttls" if e.starttls else "plain"
        lines.append(
            f"\nemail: {e.host}:{e.port} ({security}) from {e.sender or '-'} "
            f"to {', '.join(e.to) or '-'}"
            + (f", password from ${e.password_env}" if e.password_env else "")
        )
    if cfg.alerts is None:
        lines.append("alerts: none")
    else:
        d = cfg.alerts.deliver
        channels = [c for c, on in (("email", d.email), ("webhook", d.has_webhook)) if on]
        lines.append(
            f"alerts: {len(cfg.alerts.rules)} rule(s), delivered by "
            f"{' and '.join(channels) or 'nothing (stored and printed only)'}"
        )
        lines += [f"  {r.name}  [{r.kind}] {r.brand or 'all brands'}" for r in cfg.alerts.rules]
    lines.append(f"policy: {len(cfg.policy)} rule(s)" if cfg.policy else "policy: none")
    lines += [f"  {p.name}  [{p.severity}] {p.brand or 'all brands'}" for p in cfg.policy]
    if cfg.inbox is None or not cfg.inbox.respond_within:
        lines.append("inbox: no response-time targets")
    else:
        targets = ", ".join(f"{label} {span_text(t)}" for label, t in cfg.inbox.respond_within)
        lines.append(f"inbox: respond within {targets}")
    return lines


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
