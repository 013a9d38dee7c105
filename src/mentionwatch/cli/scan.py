"""One scan from the command line: progress on a terminal, the new mentions as a table or
data, a per-source summary, and alerts after it with --alerts.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Annotated

import sqlite_utils
import typer

from .. import pipeline
from ..config.loader import Config
from ..models import RunReport, SourceReport
from ..store import db as store
from ..textutil import safe_text
from .base import (
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
    quiet_mode,
)
from .output import (
    MENTION_COLUMNS,
    Format,
    WideOpt,
    brand_summary,
    columns_option,
    console,
    pick_columns,
    progress_bar,
    source_summary,
    write_records,
)


def print_run(report: RunReport, quiet: bool, warned_before: Collection[str] = frozenset()) -> None:
    """The run for people (a table), or for cron: failures, and warnings of sources
    that also warned in the previous run (``warned_before``): persistent trouble
    reaches stderr even with --quiet, a one-off hiccup does not."""
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
    for r in report.sources:
        if r.warnings and r.name in warned_before:
            detail = safe_text("; ".join(r.warnings))
            err.print(
                f"warning: source {safe_text(r.name)} (also in the previous run): {detail}",
                markup=False,
                highlight=False,
            )


PROGRESS_DELAY = 2.0  # seconds: a scan shorter than this shows no bar (no flicker)


def run_scan(
    cfg: Config,
    database: sqlite_utils.Database,
    only: list[str],
    quiet: bool,
    progress: bool | None = None,
) -> RunReport:
    """Scan with a progress bar on stderr when a person watches a terminal: after
    PROGRESS_DELAY seconds by default, at once with ``progress=True``, never with
    ``progress=False``, quiet, or without a terminal (cron logs get no control codes)."""
    if progress is False or not for_people(quiet):
        return pipeline.scan(cfg, database, only=only)
    total = len(pipeline.select_sources(cfg, only))
    bar = progress_bar("scanning", detail=True)
    task = bar.add_task("", total=total)
    lock = threading.Lock()
    done = started = False

    def show() -> None:
        nonlocal started
        with lock:  # never start after the scan stopped it
            if not done:
                bar.start()
                started = True

    def advance(r: SourceReport) -> None:
        # Recorded before the bar shows, too: it appears with the count so far.
        bar.update(task, advance=1, description=safe_text(r.name)[:40])

    timer = threading.Timer(0.0 if progress else PROGRESS_DELAY, show)
    timer.daemon = True
    timer.start()
    try:
        return pipeline.scan(cfg, database, only=only, progress=advance)
    finally:
        timer.cancel()
        with lock:
            done = True
            if started:  # a bar never shown leaves nothing behind, not even a newline
                bar.stop()


@app.command()
@handle_errors
def scan(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            "-s",
            metavar="NAME",
            help="Scan only this source (repeatable).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = None,
    wide: WideOpt = False,
    columns: Annotated[str | None, columns_option(MENTION_COLUMNS)] = None,
    alerts: Annotated[
        bool,
        typer.Option(
            "--alerts",
            help="After the scan, evaluate the config's alert rules and deliver what fired.",
        ),
    ] = False,
    wait: WaitOpt = 0.0,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Progress bar on a terminal: by default once a scan takes over 2 s.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fetch every source, store new mentions once, print them."""
    from ..report import alerts as alerting
    from .alerts import alert_rules, report_run

    chosen = pick_columns(columns, MENTION_COLUMNS)  # a typo is exit 2 before fetching
    cfg = load(config)
    rules = alert_rules(cfg) if alerts else None  # a missing section is exit 2, before fetching
    run = None
    with open_store(cfg, db, lock="scan", wait=wait) as database:
        warned_before = {
            name for name, row in store.source_health(database).items() if store.warnings_of(row)
        }
        report = run_scan(cfg, database, source or [], quiet, progress)
        # --quiet silences the table for people; asked-for data is still printed. Read
        # back only to be shown: a cron scan storing 60k mentions need not hold them all.
        if fmt is not None or not quiet_mode(quiet):
            new = store.MentionFilter(ids=report.new_mention_ids)
            records = store.query_mentions(database, new)
            write_records(
                records, fmt or Format.table, title="New mentions", wide=wide, columns=chosen
            )
            if for_people(quiet) and records:
                console(stderr=True).print(brand_summary(records, [b.name for b in cfg.brands]))
        print_run(report, quiet, warned_before)
        if rules is not None:
            # Inside the scan's lock: alerts see exactly what this scan stored.
            run = alerting.run_alerts(rules, cfg.email, database, settings=cfg.settings)
    if run is not None and rules is not None:
        report_run(run, quiet, alerting.duration_text(rules.deliver.max_age), list_fired=True)
    if report.failed or (run is not None and not run.ok):
        raise typer.Exit(1)
