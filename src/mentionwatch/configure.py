"""Load a config and check it against this install: the source types its adapters
declare, the terms and queries its matcher can compile, its sentiment engines.

``config`` reads YAML and imports nothing above it; this module is where it meets
the code that knows those facts (see config/catalog.py). Every command, the demo and
the tests load a config through here.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from .analysis.matcher import compile_brands
from .analysis.sentiment import ENGINES
from .config import loader
from .config.catalog import Catalog, SourceSchema
from .config.loader import Config
from .config.model import Brand
from .sources import REGISTRY


def _check_brand(brand: Brand) -> None:
    compile_brands([brand])


@cache
def catalog() -> Catalog:
    """What this install can do, as the config validation needs it (built once)."""
    return Catalog(
        source_types={
            name: SourceSchema(options=cls.options, validate=cls.validate)
            for name, cls in REGISTRY.items()
        },
        engines=ENGINES,
        check_brand=_check_brand,
    )


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file; every error names file, line and key path."""
    return loader.load_config(path, catalog())


def parse_config(text: str, *, filename: str = "<config>", path: Path | None = None) -> Config:
    """Read and validate config text (``filename`` is what errors call it)."""
    return loader.parse_config(text, catalog(), filename=filename, path=path)
