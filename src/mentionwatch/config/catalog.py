"""What this install can do, as config validation needs to know it.

The config is read before anything else runs and imports nothing above it, yet a
config error should name the file and line for a source type that does not exist, a
query term that can never match, or an unknown sentiment engine. Those facts belong
to the sources, the matcher and the sentiment engines, so they reach the config as a
:class:`Catalog` value, built by :mod:`mentionwatch.configure` from the real thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .model import Brand, SourceConfig

# A source type's own checks of its options: (key, problem) pairs, reported with the
# file, line and key path like every other config error. [] when all is well.
Validator = Callable[[SourceConfig], list[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class SourceSchema:
    """The config keys one source type accepts besides name/type/url/base_url, and its
    own checks of their values."""

    options: tuple[str, ...] = ()
    validate: Validator | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    """Source types by name, sentiment engines (name -> one-line description), and a
    check that raises ConfigError for a brand whose keywords or query can never match."""

    source_types: Mapping[str, SourceSchema]
    engines: Mapping[str, str]
    check_brand: Callable[[Brand], None]
