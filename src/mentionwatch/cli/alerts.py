"""The `alerts` command: evaluate the alert rules now (store and deliver what fired), or
replay them over stored history with --backtest. Also how a run is reported, for
`scan --alerts` to share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ..config.alerts import AlertsConfig
from ..config.loader import Config
from ..errors import ConfigError
from ..report import alerts as alerting
from ..textutil import safe_text
from ..timeutil import parse_when, utcnow
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
    Column,
    Format,
    WideOpt,
    columns_help,
    columns_table,
    console,
    fit,
    pick_columns,
    short_when,
    write_rows,
)

_KIND_STYLE = {"spike": "yellow", "negative": "red", "urgent": "bold red"}


ALERT_COLUMNS: tuple[Column, ...] = (
    Column("id", lambda r, w: str(r["id"])),
    Column("rule", lambda r, w: Text(safe_text(r["rule"])), max_width=14),
    Column(
        "kind",
        lambda r, w: Text(r["kind"], style=_KIND_STYLE.get(r["kind"], "")),
        max_width=14,
        wide_only=True,
    ),
    Column("brand", lambda r, w: Text(safe_text(r["brand"] or "all")), max_width=14),
    Column("fired", lambda r, w: short_when(r["fired"], w)),
    Column("summary", lambda r, w: Text(safe_text(r["summary"])), flex=True),
)


def alerts_table(
    rows: Sequence[dict[str, Any]], width: int | None = None, columns: Sequence[str] | None = None
) -> Table:
    """Fired alerts, one line each when fitted to ``width`` columns (``None``: all, wrapped)."""
    return columns_table("New alerts", ALERT_COLUMNS, rows, width, columns)


def _episode_numbers(r: dict[str, Any]) -> tuple[str, str]:
    numbers = r["details"]["numbers"]
    if r["kind"] == "spike":
        return str(numbers["count"]), f"median {numbers['baseline_median']:g}"
    return str(numbers["negatives"]), f"{numbers['baseline_share']:.0%} neg."


EPISODE_COLUMNS: tuple[Column, ...] = (
    Column("rule", lambda r, w: Text(safe_text(r["rule"])), max_width=16, narrow_max=12),
    Column("brand", lambda r, w: Text(safe_text(r["brand"] or "all")), max_width=16, narrow_max=8),
    # The window's end is its start + the rule's window: one time column is enough.
    Column(
        "from",
        lambda r, w: short_when(r["window_start"], w) + f" +{r['details']['window']}",
        header="window from",
    ),
    Column("ended", lambda r, w: short_when(r["ended"], w) or "still on"),
    Column("count", lambda r, w: _episode_numbers(r)[0], justify="right"),
    Column("peak", lambda r, w: str(r["peak"]), justify="right", wide_only=True),
    Column("baseline", lambda r, w: _episode_numbers(r)[1], wide_only=True),
    Column(
        "explained",
        lambda r, w: Text(safe_text(r["summary"].partition("; ")[2])),
        header="explained by",
        flex=True,
    ),
)


def episodes_table(
    rows: Sequence[dict[str, Any]], width: int | None = None, columns: Sequence[str] | None = None
) -> Table:
    """What --backtest found, one line an episode when fitted to ``width``."""
    return columns_table("Would have fired", EPISODE_COLUMNS, rows, width, columns)


def _where(result: alerting.ChannelResult) -> str:
    if result.channel == "webhook":
        # The target key shows the host only: the URL's path is the secret.
        return "webhook " + result.target.removeprefix("webhook:").partition("#")[0]
    return f"e-mail to {result.target}" if result.target else "e-mail"


def report_run(
    run: alerting.AlertRun, quiet: bool, max_age: str = "", *, list_fired: bool = False
) -> None:
    """What happened to deliveries, on stderr: successes for people at a terminal,
    failures always (cron mails stderr to someone). ``list_fired`` also names the new
    alerts, for commands whose stdout carries other data (`scan --alerts`)."""
    err = console(stderr=True)
    people = for_people(quiet)
    if people and list_fired:
        for a in run.fired:
            err.print(f"alert [{a.kind}] {safe_text(a.rule)}: {safe_text(a.summary)}", markup=False)
    for r in run.channels:
        if r.error is None and r.alert_ids and people:
            err.print(f"delivered {len(r.alert_ids)} alert(s) by {_where(r)}", markup=False)
        if r.skipped_old and people:
            err.print(
                f"{r.skipped_old} undelivered alert(s) older than {max_age or 'max_age'} "
                f"not sent by {_where(r)}",
                markup=False,
            )
        if r.error is not None:
            pending = f"; {len(r.alert_ids)} alert(s) stay pending for the next run"
            err.print(
                f"error: alert delivery by {_where(r)} failed: {safe_text(r.error)}"
                + (pending if r.alert_ids else ""),
                markup=False,
            )
    if people:
        err.print(f"{len(run.fired)} new alert(s)", markup=False)


def alert_rules(cfg: Config) -> AlertsConfig:
    if cfg.alerts is None:
        where = f"{cfg.path}: " if cfg.path else ""
        raise ConfigError(
            f"{where}no `alerts:` section: add alert rules (spike, negative, urgent) first"
        )
    return cfg.alerts


@app.command("alerts")
@handle_errors
def alerts_cmd(
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="With --backtest: the period to replay (24h, 7d, 30d or a date; default "
            "30d). Otherwise: how far back urgent rules look (default: each rule's `within`).",
            show_default=False,
        ),
    ] = None,
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Replay the spike and negative rules over stored history (sliding windows, "
            "a quarter window apart) and list when they would have fired. Stores and sends "
            "nothing.",
        ),
    ] = False,
    no_deliver: Annotated[
        bool,
        typer.Option(
            "--no-deliver",
            help="Store newly fired alerts but send nothing: they stay pending for the next run.",
        ),
    ] = False,
    fmt: FormatOpt = None,
    wide: WideOpt = False,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            metavar="NAME,...",
            help="Tables: only these columns, in this order (a comma list). "
            + columns_help(ALERT_COLUMNS)
            + " With --backtest: "
            + columns_help(EPISODE_COLUMNS).removeprefix("Columns: "),
            show_default=False,
        ),
    ] = None,
    wait: WaitOpt = 0.0,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Evaluate the alert rules now: store what fired, deliver pending alerts, print the
    new ones. Exit 1 when a delivery failed (those alerts go out on the next run)."""
    chosen = pick_columns(columns, EPISODE_COLUMNS if backtest else ALERT_COLUMNS)
    cfg = load(config)
    rules = alert_rules(cfg)
    now = utcnow()
    if backtest:
        start = parse_when(since or "30d", option="--since", now=now)
        with open_store(cfg, db, create=False) as database:
            episodes = alerting.backtest(rules, database, since=start, now=now)
        write_rows(
            [e.as_record() for e in episodes],
            fmt or Format.table,
            table=fit(lambda rows, width: episodes_table(rows, width, chosen), wide=wide),
            fields=alerting.EPISODE_FIELDS,
            empty="No rule would have fired in that period.",
            wide=wide,
        )
        return
    urgent_since = parse_when(since, option="--since", now=now) if since else None
    with open_store(cfg, db, lock="alerts", wait=wait) as database:
        run = alerting.run_alerts(
            rules,
            cfg.email,
            database,
            now=now,
            deliver=not no_deliver,
            settings=cfg.settings,
            urgent_since=urgent_since,
        )
    # --quiet silences the table for people; asked-for data is still printed.
    if fmt is not None or not quiet_mode(quiet):
        write_rows(
            [a.as_record() for a in run.fired],
            fmt or Format.table,
            table=fit(lambda rows, width: alerts_table(rows, width, chosen), wide=wide),
            fields=alerting.ALERT_FIELDS,
            empty="No new alerts.",
            wide=wide,
        )
    report_run(run, quiet, alerting.duration_text(rules.deliver.max_age))
    if not run.ok:
        raise typer.Exit(1)
