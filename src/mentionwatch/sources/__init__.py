"""Sources: bytes from the network turned into RawItems. Importing this package
registers every adapter by its type name.

One job: fetch. Each adapter module registers itself with ``@register`` on import;
the loop below imports them all, so adding a source type is adding a file. Beside
the adapters: ``base`` (the protocol and registry), ``common`` (what API adapters
share), ``http`` (the one polite, bounded client), ``feeds`` (feed bytes to items),
``feedpoll`` (conditional GET of several feeds), ``extract`` (main text of a page).

May import: ``config``, ``models``, ``errors`` and the top-level utilities. Never the
store, analysis, the console or anything above: an adapter's whole output is its
FetchResult, so adapters can run anywhere (a worker, a test, another process).
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import REGISTRY, Source, SourceContext, build, register

# Modules that only help the adapters (importing them is harmless, but there is no point).
_HELPERS = {"base", "common", "extract", "feedpoll", "feeds", "http"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _HELPERS:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Source", "SourceContext", "build", "register"]
