"""The command line: Typer commands that parse options, call one library function
and render its result.

``base`` holds what every command shares (the app, global options, the one place
that turns a MentionwatchError into a message and an exit code); ``output`` writes
rows as tables, JSON, JSONL or CSV; every other module is one command group and
registers its commands on the app when imported (listed below).

May import everything else in the package; nothing imports the CLI.
"""

from __future__ import annotations

from . import alerts, core, digest, inbox, labels, query
from .base import app

# The command modules register themselves on `app` on import; name them so it's explicit.
COMMAND_MODULES = (core, alerts, digest, inbox, labels, query)


def main() -> None:
    app()


__all__ = ["COMMAND_MODULES", "app", "main"]
