"""The `label` and `precision` commands: mark mentions relevant or irrelevant (by id,
or one at a time with a keypress each), and report the precision the labels measure."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import sqlite_utils
import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..analysis.explain import highlighted
from ..errors import ConfigError
from ..store import db as store
from ..textutil import safe_text
from ..timeutil import parse_when
from ..webcare import labels
from .base import (
    ConfigOpt,
    DbOpt,
    QuietOpt,
    app,
    handle_errors,
    open_store,
    optional_config,
    quiet_mode,
    require_keys,
)
from .output import (
    WIDE,
    Cell,
    Column,
    WideOpt,
    columns_option,
    columns_table,
    console,
    fit,
    pick_columns,
)

SNIPPET = 500  # characters of the post text shown per mention when labelling by keys
_LEAD = 150  # of which, before the first match: enough to see what it is about
_KEYS = "r relevant · i irrelevant · s skip · q quit"
_NO_LABELS = (
    "no labelled mentions yet, so no precision to report: label some with "
    "`mentionwatch label ID... relevant|irrelevant` or `mentionwatch label --interactive`"
)

AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="NAME",
        help="Who is labelling, for the history (default: $USER).",
        show_default=False,
    ),
]


class PrecisionFormat(StrEnum):
    table = "table"
    json = "json"


# --------------------------------------------------------------------------------- label


@app.command()
@handle_errors
def label(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="ID... relevant|irrelevant",
            help="Mention ids (or unique id prefixes), then the label for all of them.",
            show_default=False,
        ),
    ] = None,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive",
            "-i",
            help="Show mentions one at a time, newest first; a key labels each: "
            "r relevant, i irrelevant, s skip, q quit.",
        ),
    ] = False,
    brand: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="With --interactive: only this brand.", show_default=False
        ),
    ] = None,
    unlabelled: Annotated[
        bool,
        typer.Option("--unlabelled", help="With --interactive: only mentions not labelled yet."),
    ] = False,
    who: AsOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Label mentions relevant or irrelevant. Irrelevant ones stay stored but leave
    listings, digests and alerts; `mentionwatch precision` reports what the labels say."""
    name = labels.labeller(who)
    if interactive:
        if args:
            raise ConfigError("--interactive: give no ids or label (the keys label each mention)")
        require_keys("--interactive")
    else:
        if given := [o for o, on in (("--brand", brand), ("--unlabelled", unlabelled)) if on]:
            raise ConfigError(f"{', '.join(given)}: only with --interactive")
        if not args:
            raise ConfigError("give mention ids and a label (relevant or irrelevant), or -i")
        if len(args) < 2:
            raise ConfigError(f"give mention ids before the label (got only {args[0]!r})")
    cfg = optional_config(config)
    with open_store(cfg, db, create=False) as database:
        if interactive:
            _interactive(database, name, brand=brand, unlabelled=unlabelled, quiet=quiet)
            return
        assert args is not None  # checked above; narrows the type
        chosen = labels.parse_label(args[-1])
        ids = store.resolve_mention_ids(database, args[:-1])
        done = labels.label_mentions(database, ids, chosen, who=name)
    if not quiet_mode(quiet):
        changed = sum(1 for d in done if d.previous_label != d.label)
        console(stderr=True).print(
            f"labelled {len(done)} mention(s) {chosen} ({changed} changed)", markup=False
        )


def _key() -> str:
    """One keypress ('' at end of input). typer.getchar (Typer's copy of click.getchar,
    the one its CliRunner feeds from ``input=``) reads the terminal even when stdin is
    a pipe; with no terminal at all it cannot work."""
    try:
        return typer.getchar(echo=False)
    except EOFError:  # Ctrl-D
        return ""
    except (OSError, RuntimeError):  # no /dev/tty, or not a terminal (termios refused it)
        raise ConfigError("--interactive needs a terminal to read keys from") from None


def _interactive(
    database: sqlite_utils.Database,
    who: str | None,
    *,
    brand: str | None,
    unlabelled: bool,
    quiet: bool,
) -> None:
    err = console(stderr=True)
    ids = labels.to_label(database, brand=brand, unlabelled=unlabelled)
    if not ids:
        which = " unlabelled" if unlabelled else ""
        about = f" of {brand}" if brand else ""
        err.print(f"no{which} mentions{about} to label", markup=False)
        return
    counts = {"relevant": 0, "irrelevant": 0, "skipped": 0}
    for position, mention_id in enumerate(ids, 1):
        record = store.get_mention(database, mention_id)
        current = labels.current_labels(database, [mention_id]).get(mention_id)
        err.print(Text(""))
        err.print(card(record, position, len(ids), current))
        err.print(Text(_KEYS, style="dim"))
        answer = _read_answer(err)
        if answer == "q":
            break
        if answer == "s":
            counts["skipped"] += 1
            continue
        chosen = labels.parse_label("relevant" if answer == "r" else "irrelevant")
        # Each answer commits at once: quitting (or Ctrl-C) keeps what was labelled, and
        # the write lock is never held while a person reads.
        labels.label_mentions(database, [mention_id], chosen, who=who)
        counts[chosen] += 1
        err.print(Text(f"→ {chosen}", style="green" if chosen == "relevant" else "yellow"))
    if not quiet_mode(quiet):
        err.print(
            f"labelled {counts['relevant'] + counts['irrelevant']} mention(s): "
            f"{counts['relevant']} relevant, {counts['irrelevant']} irrelevant; "
            f"{counts['skipped']} skipped",
            markup=False,
        )


def _read_answer(err: Console) -> str:
    """r, i, s or q; white space is ignored, any other key asks again."""
    while True:
        key = _key()
        if key == "":
            return "q"
        if key.isspace():
            continue
        answer = key.lower()
        if answer in ("r", "i", "s", "q"):
            return answer
        err.print(Text(f"press {_KEYS}", style="dim"))


def card(record: dict[str, Any], position: int, total: int, current: str | None) -> RenderableType:
    """One mention for labelling: facts, title and a text snippet, matches highlighted."""
    title, text = record["title"], record["text"]
    combined = f"{title}\n{text}"
    spans = [(s["start"], s["end"]) for s in record.get("spans", [])]
    head = Text()
    head.append(f"[{position}/{total}] ", style="bold")
    head.append(record["id"][:10], style="cyan")
    facts = [record["brand"], record["source"], (record.get("published") or "")[:16]]
    head.append("  " + "  ".join(safe_text(f) for f in facts if f))
    head.append(f"  label: {current or 'none'}  status: {safe_text(record['status'])}")
    matched = Text("matched: ", style="bold")
    matched.append(safe_text(", ".join(record.get("matched", []))))

    heading = highlighted(combined, spans, 0, len(title))
    heading.stylize("bold")
    body_start = len(title) + 1
    in_body = [s for s, _ in spans if s >= body_start]
    start = max(body_start, min(in_body, default=body_start) - _LEAD)
    end = min(len(combined), start + SNIPPET)
    body = Text("…" if start > body_start else "")
    body.append_text(highlighted(combined, spans, start, end))
    if end < len(combined):
        body.append("…")
    parts: list[RenderableType] = [head, matched]
    if record.get("url"):
        parts.append(Text(safe_text(record["url"]), style="dim"))
    parts += [heading, body]
    return Group(*parts)


# ----------------------------------------------------------------------------- precision


def _precision_cell(counts: labels.Counts) -> Text:
    """``80.0% [49.0, 94.3]``: the precision and its interval, in percent."""
    share, interval = counts.precision, counts.interval
    if share is None or interval is None:
        return Text("no labels", style="dim")
    low, high = interval
    return Text(f"{100 * share:.1f}% [{100 * low:.1f}, {100 * high:.1f}]")


def _number(key: str, style: str = "") -> Cell:
    return lambda r, w: Text(str(getattr(r["counts"], key)), style=style)


PRECISION_COLUMNS: tuple[Column, ...] = (
    # A brand's line, then its keywords' lines indented under it.
    Column(
        "brand",
        lambda r, w: Text(r["label"], style="bold" if r["_section"] else ""),
        header="brand/keyword",  # 13 characters: what is left at 80 columns
        flex=True,
    ),
    Column("mentions", _number("mentions"), justify="right"),
    Column("relevant", _number("relevant", "green"), justify="right"),
    Column("irrelevant", _number("irrelevant", "yellow"), justify="right"),
    Column("unlabelled", _number("unlabelled", "dim"), justify="right"),
    Column(
        "precision",
        lambda r, w: _precision_cell(r["counts"]),
        header=f"precision [{labels.CONFIDENCE:.0%} CI]",
    ),
)


def precision_table(
    report: list[labels.BrandPrecision],
    width: int | None = None,
    columns: Sequence[str] | None = None,
) -> Table:
    """Per brand, then per keyword under it; one line each when fitted to ``width``
    (a keyword too long for the first column is cut with "…")."""
    rows: list[dict[str, Any]] = []
    for b in report:
        rows.append({"label": safe_text(b.brand), "counts": b.counts, "_section": True})
        rows += [
            {"label": "  " + safe_text(k.keyword), "counts": k.counts, "_section": False}
            for k in b.keywords
        ]
    return columns_table(None, PRECISION_COLUMNS, rows, width, columns)


@app.command()
@handle_errors
def precision(
    brand: Annotated[
        str | None,
        typer.Argument(metavar="[BRAND]", help="Only this brand.", show_default=False),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="Only mentions published since: 30d, 2w or a date (e.g. when a query changed).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        PrecisionFormat | None,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help="table (people) or json.", show_default=False
        ),
    ] = None,
    wide: WideOpt = False,
    columns: Annotated[str | None, columns_option(PRECISION_COLUMNS)] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Precision per brand and per matched keyword: relevant / labelled mentions, with a
    95% Wilson interval, and the keywords that bring most of the irrelevant mentions."""
    chosen = pick_columns(columns, PRECISION_COLUMNS)
    start = parse_when(since, option="--since") if since else None
    cfg = optional_config(config)
    with open_store(cfg, db, create=False) as database:
        report = labels.precision_report(database, brand=brand, since=start)
        if brand is not None and not report:
            known = [b.brand for b in labels.precision_report(database)]
            # A known brand with nothing since --since is an empty answer, not a mistake.
            if brand.casefold() not in {k.casefold() for k in known}:
                listed = ", ".join(known) if known else "none yet"
                raise ConfigError(f"no mentions of brand {brand!r} stored (brands: {listed})")
    if fmt is PrecisionFormat.json:
        print(json.dumps(labels.report_json(report), ensure_ascii=False, indent=2))
    elif report:
        out = Console(file=sys.stdout, highlight=False, emoji=False)
        if wide:  # every column at its natural width: for a pager (less -S) or a file
            out.width = max(out.width, WIDE)
        out.print(fit(lambda rows, width: precision_table(report, width, chosen), wide=wide)([]))
        for line in noise_lines(report):
            out.print(line)
    elif not quiet_mode(quiet):
        console(stderr=True).print("No mentions.", style="dim")
    if report and not any(b.counts.labelled for b in report) and not quiet_mode(quiet):
        console(stderr=True).print(_NO_LABELS, markup=False)


def noise_lines(report: list[labels.BrandPrecision]) -> list[Text]:
    """Per brand with irrelevant labels: which keywords bring most of them."""
    return [
        Text(
            f"{safe_text(b.brand)}: most irrelevant mentions come from: "
            f"{safe_text(labels.noise_text(b.noisiest))}"
        )
        for b in report
        if b.noisiest
    ]
