"""Source adapters, registered by type name. Importing this package registers them all."""

from __future__ import annotations

from . import rss
from .base import REGISTRY, Source, build, register

__all__ = ["REGISTRY", "Source", "build", "register", "rss"]
