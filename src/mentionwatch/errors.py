"""The one exception family. Only the CLI (``cli.base.handle_errors``) turns these into
messages and exit codes."""

from __future__ import annotations


class MentionwatchError(Exception):
    """Base of every error mentionwatch raises on purpose."""


class ConfigError(MentionwatchError):
    """Bad configuration or bad command-line input (exit code 2)."""


class SourceError(MentionwatchError):
    """A source could not be fetched or parsed; recorded per source, never fatal to a run."""


class StoreError(MentionwatchError):
    """The database cannot be opened, migrated or written."""


class MailError(MentionwatchError):
    """An e-mail could not be delivered."""
