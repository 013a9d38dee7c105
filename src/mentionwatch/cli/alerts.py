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
    NARROW,
    Format,
    add_text_column,
    console,
    fit,
    line,
    new_table,
    short_when,
    write_rows,
)

_KIND_STYLE = {"spike": "yellow", "negative": "red", "urgent": "bold red"}


def alerts_table(rows: Sequence[dict[str, Any]], width: int | None = None) -> Table:
    """Fired alerts, one line each when fitted to ``width`` columns (``None``: all, wrapped)."""
    narrow = width is not None and width < NARROW
    table = new_table("New alerts", width)
    for col in ("id", "rule", "kind", "brand") if not narrow else ("id", "rule", "brand"):
        table.add_column(col, no_wrap=True, overflow="ellipsis", max_width=14)
    table.add_column("fired", no_wrap=True)
    add_text_column(table, "summary", width)
    for r in rows:
        cells: list[str | Text] = [str(r["id"]), Text(safe_text(r["rule"]))]
        if not narrow:
            cells.append(Text(r["kind"], style=_KIND_STYLE.get(r["kind"], "")))
        cells += [
            Text(safe_text(r["brand"] or "all")),
            short_when(r["fired"], width),
            line(safe_text(r["summary"]), width),
        ]
        table.add_row(*cells)
    return table


def episodes_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Would have fired", title_justify="left")
    # The window's end is its start + the rule's window: one time column is enough.
    for col in ("rule", "brand", "window from", "ended", "count", "peak", "baseline"):
        justify = "right" if col in ("count", "peak") else "left"
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    table.add_column("explained by", overflow="fold", ratio=1)
    for r in rows:
        numbers = r["details"]["numbers"]
        if r["kind"] == "spike":
            count, baseline = numbers["count"], f"median {numbers['baseline_median']:g}"
        else:
            count = numbers["negatives"]
            baseline = f"{numbers['baseline_share']:.0%} neg."
        table.add_row(
            Text(safe_text(r["rule"])),
            Text(safe_text(r["brand"] or "all")),
            _minute(r["window_start"]) + f" +{r['details']['window']}",
            _minute(r["ended"]) or "still on",
            str(count),
            str(r["peak"]),
            baseline,
            Text(safe_text(r["summary"].partition("; ")[2])),
        )
    return table


def _minute(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


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
    wait: WaitOpt = 0.0,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Evaluate the alert rules now: store what fired, deliver pending alerts, print the
    new ones. Exit 1 when a delivery failed (those alerts go out on the next run)."""
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
            table=episodes_table,
            fields=alerting.EPISODE_FIELDS,
            empty="No rule would have fired in that period.",
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
            table=fit(alerts_table, wide=False),
            fields=alerting.ALERT_FIELDS,
            empty="No new alerts.",
        )
    report_run(run, quiet, alerting.duration_text(rules.deliver.max_age))
    if not run.ok:
        raise typer.Exit(1)
