"""The webcare commands: `inbox` (what needs handling, by priority, with the reasons; or
one mention at a time with --triage), and `assign`, `open`, `done`, `ignore`, `note`,
which change a mention and record who did it and when in its history."""

from __future__ import annotations

import webbrowser
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any

import sqlite_utils
import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..errors import ConfigError
from ..report.render import web_url
from ..textutil import safe_text
from ..timeutil import to_iso, utcnow
from ..webcare import inbox as webcare
from ..webcare.labels import labeller
from .base import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    QuietOpt,
    app,
    check_brand,
    for_people,
    handle_errors,
    open_store,
    optional_config,
    require_keys,
)
from .output import (
    Column,
    Format,
    WideOpt,
    columns_option,
    columns_table,
    console,
    fit,
    pick_columns,
    short_id,
    short_when,
    write_rows,
)

AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="NAME",
        help="Who is doing this, for the history (default: $USER).",
        show_default=False,
    ),
]
NoteOpt = Annotated[
    str | None,
    typer.Option("--note", metavar="TEXT", help="Also add this note to the history."),
]
IdsArg = Annotated[
    list[str], typer.Argument(metavar="ID...", help="Mention ids (or unique prefixes).")
]

_STATUS_STYLE = {"new": "bold", "open": "cyan", "responded": "green", "ignored": "dim"}
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": ""}
TRIAGE_KEYS = "o open · a assign · d done · i ignore · x irrelevant · s skip · q quit"

# ------------------------------------------------------------------------ listing


def _headline(r: dict[str, Any], width: int | None) -> str:
    headline = safe_text(r["title"] or r["excerpt"])
    return headline if len(headline) <= 100 or width is None else headline[:99] + "…"


def _status_cell(r: dict[str, Any], width: int | None) -> Text:
    # An overdue row is red as a whole: its status keeps no colour of its own.
    return Text(r["status"], style="" if r["overdue"] else _STATUS_STYLE.get(r["status"], ""))


def _date_cell(r: dict[str, Any], width: int | None) -> str:
    # An undated post shows no date: its fetch time would pass for one.
    return "—" if r.get("undated") else short_when(r["at"], width)


INBOX_COLUMNS: tuple[Column, ...] = (
    # The rows are in rank order already: the number is a luxury when narrow.
    Column("rank", lambda r, w: str(r["rank"]), header="#", justify="right", wide_only=True),
    Column("id", short_id, style="cyan"),
    Column("status", _status_cell),
    Column(
        "assignee", lambda r, w: Text(safe_text(r["assignee"] or "")), max_width=14, wide_only=True
    ),
    Column("brand", lambda r, w: Text(safe_text(r["brand"])), max_width=16, narrow_max=8),
    Column("date", _date_cell),
    Column("title", _headline, flex=True),
    Column(
        "why", lambda r, w: Text(safe_text(r["reason"])), flex=True, max_width=40, narrow_max=14
    ),
    Column(
        "source", lambda r, w: Text(safe_text(r.get("source") or "")), max_width=24, optional=True
    ),
    Column(
        "author", lambda r, w: Text(safe_text(r.get("author") or "")), max_width=18, optional=True
    ),
    Column("url", lambda r, w: Text(safe_text(r.get("url") or "")), flex=True, optional=True),
)


def inbox_table(
    rows: Sequence[dict[str, Any]], width: int | None = None, columns: Sequence[str] | None = None
) -> Table:
    """The inbox for people; overdue rows red, flags in the severity's colour.

    ``width``: the columns to fit in (one line a mention; the rank number and the
    assignee go first when narrow); ``None`` shows every column, nothing cut (``--wide``).
    """
    return columns_table(
        "Inbox", INBOX_COLUMNS, rows, width, columns,
        row_style=lambda r: "red" if r["overdue"] else None,
    )  # fmt: skip


def _who(explicit: str | None) -> str | None:
    """Who is acting, for the history: --as NAME, else $USER (as `label` decides it)."""
    return labeller(explicit)


@app.command("inbox")
@handle_errors
def inbox_cmd(
    mine: Annotated[
        bool, typer.Option("--mine", help="Only mentions assigned to me ($USER, or --as).")
    ] = False,
    assignee: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only mentions assigned to NAME.", show_default=False),
    ] = None,
    brand: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this brand.", show_default=False)
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            metavar="STATUS",
            help="new, open, responded or ignored (repeatable; default: new and open).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, metavar="N", help="At most this many, first in rank.")
    ] = 50,
    triage: Annotated[
        bool,
        typer.Option(
            "--triage",
            help="One mention at a time, single keys: o open in the browser, a assign, "
            "d done, i ignore, x label irrelevant, s skip, q quit.",
        ),
    ] = False,
    as_: AsOpt = None,
    fmt: FormatOpt = None,
    wide: WideOpt = False,
    columns: Annotated[str | None, columns_option(INBOX_COLUMNS)] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """What needs handling (new and open mentions), highest priority first: policy flags
    (by severity), then overdue, then negative sentiment x reach x freshness. The `why`
    column says what put each mention where it is."""
    chosen = pick_columns(columns, INBOX_COLUMNS)
    if mine and assignee is not None:
        raise ConfigError("--mine and --assignee: choose one")
    me = _who(as_)
    if mine:
        if me is None:
            raise ConfigError("--mine: who are you? pass --as NAME (or set $USER)")
        assignee = me
    if triage and fmt not in (None, Format.table):
        raise ConfigError("--format: not with --triage")
    if triage:
        require_keys("--triage")
    cfg = optional_config(config)
    with open_store(cfg, db, create=False) as database:
        check_brand(database, cfg, brand)
        items = webcare.inbox(
            database,
            cfg,
            now=utcnow(),
            statuses=tuple(status) if status else webcare.ACTIVE,
            assignee=assignee,
            brand=brand,
            limit=limit,
        )
        if triage:
            _triage(database, items, me)
            return
    write_rows(
        [i.as_record() for i in items],
        fmt or Format.table,
        table=fit(lambda rows, width: inbox_table(rows, width, chosen), wide=wide),
        fields=webcare.INBOX_FIELDS,
        empty="Nothing to handle.",
        wide=wide,
    )


# ------------------------------------------------------------------------ changes


def _said(message: str, quiet: bool) -> None:
    if for_people(quiet):
        console(stderr=True).print(message, markup=False)


def _summary(done: webcare.Changed, what: str) -> str:
    unchanged = len(done.ids) - done.changed
    tail = f" ({unchanged} already so)" if unchanged else ""
    return f"{len(done.ids)} mention(s) {what}{tail}"


@app.command("assign")
@handle_errors
def assign_cmd(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="ID... NAME", help="Mention ids (or unique prefixes), then who gets them."
        ),
    ],
    note: NoteOpt = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Assign mentions to someone (a new one becomes open)."""
    if len(args) < 2:
        raise ConfigError("give one or more mention ids, then the name to assign them to")
    *ids, name = args
    cfg = optional_config(config)
    with open_store(cfg, db, create=False) as database:
        done = webcare.assign(database, ids, name, who=_who(as_), now=utcnow(), note=note)
    _said(_summary(done, f"assigned to {safe_text(name)}"), quiet)


def _status_command(name: str, status: str, doc: str) -> None:
    """`open`, `done` and `ignore` differ only in the status they set."""

    @app.command(name, help=doc)
    @handle_errors
    def command(
        ids: IdsArg,
        note: NoteOpt = None,
        as_: AsOpt = None,
        config: ConfigOpt = None,
        db: DbOpt = None,
        quiet: QuietOpt = False,
    ) -> None:
        cfg = optional_config(config)
        with open_store(cfg, db, create=False) as database:
            done = webcare.set_status(database, ids, status, who=_who(as_), now=utcnow(), note=note)
        _said(_summary(done, f"marked {status}"), quiet)


_status_command("open", "open", "Mark mentions open: someone is on it (also reopens).")
_status_command("done", "responded", "Mark mentions responded (answered).")
_status_command("ignore", "ignored", "Mark mentions ignored (no answer needed).")


@app.command("note")
@handle_errors
def note_cmd(
    mention_id: Annotated[
        str, typer.Argument(metavar="ID", help="Mention id (or a unique prefix).")
    ],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The note.")],
    as_: AsOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Add a timestamped note to a mention's history."""
    cfg = optional_config(config)
    with open_store(cfg, db, create=False) as database:
        done = webcare.add_note(database, mention_id, text, who=_who(as_), now=utcnow())
    _said(f"noted on {done.ids[0][:10]}", quiet)


# ------------------------------------------------------------------------ triage


def _card(item: webcare.InboxItem, n: int, total: int) -> RenderableType:
    head = Text(f"[{n}/{total}] ", style="dim")
    head.append(item.id[:10], style="cyan")
    facts = [item.brand, item.source, (to_iso(item.at) or "")[:16].replace("T", " "), item.status]
    head.append("  " + " · ".join(safe_text(f) for f in facts))
    if item.assignee:
        head.append(f" · assigned to {safe_text(item.assignee)}")
    title = Text(safe_text(item.title) or "(untitled)", style="bold")
    who = Text(f"by {safe_text(item.author) or '?'} · ")
    score = f"{item.sentiment:+.2f}" if item.sentiment is not None else ""
    who.append(
        f"{item.sentiment_label} {score}".strip(), style="red" if score.startswith("-") else ""
    )
    if item.reach is not None:
        who.append(f" · reach {webcare.reach_text(item.reach)}")
    parts: list[RenderableType] = [Text(""), head, title, who]
    for f in item.flags:
        flag = Text("flag: ", style="bold")
        flag.append(
            f"{safe_text(f.rule)} ({f.severity})", style=_SEVERITY_STYLE.get(f.severity, "")
        )
        flag.append(f" {safe_text(f.reason)}".rstrip())
        parts.append(flag)
    parts.append(Text(f"why: {safe_text(item.reason)}", style="red" if item.overdue else "dim"))
    if item.excerpt:
        parts.append(Text(safe_text(item.excerpt)))
    if item.url:
        parts.append(Text(safe_text(item.url), style="dim"))
    return Group(*parts)


def _key() -> str:
    """One key press; end of input or Ctrl-C/Ctrl-D mean quit. typer.getchar (Typer's
    own click, the one its CliRunner feeds from ``input=``) reads the terminal even when
    stdin is a pipe; without any terminal there is nothing to read keys from."""
    try:
        return typer.getchar(echo=False).lower()
    except (EOFError, KeyboardInterrupt):
        return "q"
    except (OSError, RuntimeError):  # no /dev/tty, or termios refused it
        raise ConfigError("--triage needs a terminal to read keys from") from None


def _open_url(url: str) -> str:
    target = web_url(url) if url else None
    if target is None:
        return f"not opened: only http(s) links are opened ({safe_text(url) or 'no link'})"
    try:
        opened = webbrowser.open(target)
    except webbrowser.Error:
        opened = False
    return f"opened {target}" if opened else f"no browser found; the link: {target}"


def _triage(
    database: sqlite_utils.Database, items: Sequence[webcare.InboxItem], me: str | None
) -> None:
    err = console(stderr=True)
    if not items:
        err.print("Nothing to handle.", markup=False)
        return
    counts: Counter[str] = Counter()
    seen = 0
    for n, item in enumerate(items, 1):
        err.print(_card(item, n, len(items)))
        action = _triage_one(database, item, me)
        if action == "quit":
            break
        seen = n
        counts[action] += 1
    summary = ", ".join(f"{k} {v}" for k, v in counts.items()) or "nothing done"
    err.print(f"triage: {summary}; {len(items) - seen} left", markup=False)


def _triage_one(database: sqlite_utils.Database, item: webcare.InboxItem, me: str | None) -> str:
    """Keys until one moves on; returns what was done (or "quit")."""
    err = console(stderr=True)
    while True:
        err.print(TRIAGE_KEYS, style="dim", markup=False)
        key = _key()
        if key.isspace():
            continue  # the Enter after a key, in piped input
        if key == "q" or key == "":
            return "quit"
        if key == "o":
            err.print(_open_url(item.url), markup=False)
            continue
        now = utcnow()
        if key == "a":
            try:
                name = typer.prompt("assign to", default=me, err=True, show_default=bool(me))
            except typer.Abort:
                return "quit"
            webcare.assign(database, [item.id], str(name), who=me, now=now)
            err.print(f"→ assigned to {safe_text(name)}", markup=False)
            return "assigned"
        if key == "d":
            webcare.set_status(database, [item.id], "responded", who=me, now=now)
            err.print("→ responded", markup=False)
            return "done"
        if key == "i":
            webcare.set_status(database, [item.id], "ignored", who=me, now=now)
            err.print("→ ignored", markup=False)
            return "ignored"
        if key == "x":
            webcare.mark_irrelevant(database, [item.id], who=me, now=now)
            err.print("→ labelled irrelevant", markup=False)
            return "irrelevant"
        if key == "s":
            return "skipped"
        err.print(f"unknown key {safe_text(key)!r}", markup=False)
