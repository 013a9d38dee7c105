"""The command line: Typer commands that parse options, call one library function
and render its result.

``base`` holds what every command shares (the app, global options, the one place
that turns a MentionwatchError into a message and an exit code); ``output`` writes
rows as tables, JSON, JSONL or CSV; every other module is one command group and
registers its commands on the app when imported (listed below).

May import everything else in the package; nothing imports the CLI.
"""

from __future__ import annotations

from . import alerts, browse, digest, inbox, labels, query, scan, sentiment, setup
from .base import WordyHelp, app

# The command modules register themselves on `app` on import; named here so it's explicit,
# in the order --help lists their commands (getting started first, then the daily work).
COMMAND_MODULES = (setup, scan, browse, sentiment, alerts, digest, inbox, labels, query)
_RANK = {module.__name__: rank for rank, module in enumerate(COMMAND_MODULES)}
app.registered_commands.sort(
    key=lambda command: _RANK.get(getattr(command.callback, "__module__", ""), len(_RANK))
)

for _command in app.registered_commands:
    # Words, not types, in every command's help (Typer fills in its own class otherwise).
    _command.cls = WordyHelp


def main() -> None:
    app()


__all__ = ["COMMAND_MODULES", "app", "main"]
