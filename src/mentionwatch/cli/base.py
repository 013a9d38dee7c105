"""What every command shares: the Typer app, the global options, error handling,
config and database opening. Command modules import from here and add commands."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from .. import __version__
from ..config.loader import Config, find_config, resolve_db_path
from ..configure import load_config
from ..errors import ConfigError, MentionwatchError
from ..store import db as store
from ..store import locking
from ..textutil import safe_text
from .output import Format, console

# Typer exports BadParameter but not its base, UsageError (every parse error: a bad
# value, an unknown option, a missing argument): found by name, whichever copy of
# Click this Typer carries.
_USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


@contextmanager
def _usage_errors_in_one_line() -> Iterator[None]:
    try:
        yield
    except _USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            raise  # bare `mentionwatch`: the help is the answer
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        console(stderr=True).print(
            f"error: {safe_text(message)}{hint}", style="bold red", markup=False, highlight=False
        )
        raise typer.Exit(2) from None


class _OneLineUsageErrors(TyperGroup):
    """Usage errors (``--limit 0``, ``-f xml``, an unknown option) as one ``error:``
    line on stderr and exit code 2, like every other error of ours, instead of
    Click's three-line usage block."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _usage_errors_in_one_line():  # options before the command
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_in_one_line():  # the command's own options and arguments
            return super().invoke(ctx)


class WordyHelp(TyperCommand):
    """A command whose help names its arguments with words, as its options do.

    Typer writes an argument's Python type after its name (``ID <str>``, ``ID...
    <list[str]>``) and wraps it in braces in the usage line (``{ID... NAME}...``): to a
    reader those are noise. Here the usage line shows the metavar as written (``ID...
    NAME``; an optional one in brackets) and the argument list drops the type.
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                pieces.extend(param.get_usage_pieces(ctx))
                continue
            name = param.metavar or (param.name or "").upper()
            if param.metavar is None and param.nargs != 1:
                name += "..."
            # A metavar already in brackets ("[BRAND]") says it is optional itself.
            optional = not param.required and not name.startswith("[")
            pieces.append(f"[{name}]" if optional else name)
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument):
                name, help_text = record
                type_text = param.display_type_rich(ctx)  # what Typer appended to the name
                if type_text and name.endswith(f" {type_text}"):
                    name = name[: -len(type_text) - 1]
                args.append((name, help_text))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


app = typer.Typer(
    cls=_OneLineUsageErrors,
    name="mentionwatch",
    help="Watch what is said about your brands: scan feeds and APIs, store mentions in SQLite.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)

P = ParamSpec("P")
R = TypeVar("R")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="Config file. Default: $MENTIONWATCH_CONFIG, ./mentionwatch.yaml, "
        "then the user config dir.",
        show_default=False,
    ),
]
DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        metavar="FILE",
        help="SQLite database. Default: the config's `database:`, $MENTIONWATCH_DB, "
        "then the user data dir.",
        show_default=False,
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing for people; data and errors only.")
]
WaitOpt = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="If another mentionwatch run holds the database, wait up to this many "
        "seconds for it (default: exit at once with a message).",
    ),
]
FormatOpt = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="table (people), json (one array), jsonl (one object a line) or csv.",
        show_default=False,
    ),
]


class Globals:
    """Options given before the command (`mentionwatch -c x.yaml scan`)."""

    config: Path | None = None
    db: Path | None = None
    quiet: bool = False


GLOBALS = Globals()


def _version(value: bool) -> None:
    if value:
        print(f"mentionwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    GLOBALS.config, GLOBALS.db, GLOBALS.quiet = config, db, quiet


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Our errors become one line on stderr and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            _fail(str(exc), 2)
        except MentionwatchError as exc:
            _fail(str(exc), 1)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            # `mentionwatch mentions | head`: the reader left; that is not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except sqlite3.Error as exc:
            # Whatever SQLite says outside store.transaction (a read on a full or
            # damaged disk...) is still about the database, not a bug to trace.
            _fail(f"database error: {store.describe_db_error(exc)}", 1)
        except OSError as exc:
            # The environment said no (a folder that cannot be written...): say what.
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{(exc.strerror or str(exc)).lower()}", 1)

    return wrapper


def _fail(message: str, code: int) -> NoReturn:
    console(stderr=True).print(f"error: {safe_text(message)}", style="bold red", markup=False)
    raise typer.Exit(code)


def quiet_mode(quiet: bool) -> bool:
    return quiet or GLOBALS.quiet


def load(explicit: Path | None) -> Config:
    return load_config(find_config(explicit or GLOBALS.config))


def check_brand(database: Any, config: Config | None, brand: str | None) -> None:
    """``--brand`` must name a configured brand or one with stored mentions (a brand
    since removed from the config still has its history); anything else is a typo
    that would print an empty list and exit 0, so it is a usage error, as in digest."""
    if brand is None:
        return
    known = [b.name for b in config.brands] if config is not None else []
    known += [r[0] for r in database.execute("SELECT DISTINCT brand FROM mentions")]
    names = {k.casefold(): k for k in known}
    if brand.casefold() not in names:
        listed = ", ".join(sorted(set(names.values()), key=str.casefold)) or "none yet"
        raise ConfigError(f"--brand: {brand!r} is not a configured brand; known: {listed}")


def optional_config(explicit: Path | None) -> Config | None:
    """The config when one is named or found; reading commands work without one."""
    path = explicit or GLOBALS.config
    try:
        found = find_config(path)
    except ConfigError:
        return None
    return load_config(found)


@contextmanager
def open_store(
    config: Config | None,
    db: Path | None,
    *,
    create: bool = True,
    lock: str | None = None,
    wait: float = 0.0,
) -> Iterator[Any]:
    """The database, opened (and migrated). With ``lock`` (what this run is, e.g.
    "scan"), only while no other writing run holds it: see locking.hold."""
    path = resolve_db_path(config, db or GLOBALS.db)
    if str(path) != ":memory:" and (path.name in ("", ".", "..") or path.is_dir()):
        raise ConfigError(f"{path}: is a folder; --db (or `database:`) names the database file")
    with locking.hold(path, lock, wait=wait) if lock else nullcontext():
        database = store.open_db(path, create=create, writable=lock is not None)
        try:
            yield database
        finally:
            database.close()


def for_people(quiet: bool) -> bool:
    """Progress and summaries: only for a person at a terminal."""
    return not quiet_mode(quiet) and sys.stderr.isatty()


def require_keys(option: str) -> None:
    """Refuse ``option`` (an interactive mode) at once, before anything is drawn, when
    no key press can be read: neither stdin nor /dev/tty is a terminal (cron, a pipe in a
    session without one). Keys fed by click's test runner (it swaps in its own prompt
    function, as it does for getchar) count as a terminal."""
    # The module typer.getchar comes from (Typer's own copy of click's termui): its test
    # runner replaces this function while it feeds keys.
    termui = sys.modules[typer.getchar.__module__]
    if getattr(termui, "visible_prompt_func", input) is not input or sys.stdin.isatty():
        return
    try:
        with open("/dev/tty", "rb"):
            return
    except OSError:
        raise ConfigError(f"{option} needs a terminal to read keys from") from None
