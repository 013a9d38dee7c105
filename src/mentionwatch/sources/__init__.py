"""Source adapters, registered by type name. Importing this package registers them all.

Every module in this package that defines an adapter registers it with ``@register``
on import; the loop below imports them all, so adding a source type is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import REGISTRY, Source, SourceContext, build, register

_HELPERS = {"base", "common"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _HELPERS:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Source", "SourceContext", "build", "register"]
