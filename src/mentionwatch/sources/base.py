"""The Source protocol every adapter implements, and the registry of adapters by type."""

from __future__ import annotations

from typing import ClassVar, Protocol

import httpx

from ..config import Settings, SourceConfig, register_source_type
from ..models import FetchResult, SourceState


class Source(Protocol):
    """Bytes in, RawItems out: an adapter touches neither the database nor the console."""

    type: ClassVar[str]
    #: config keys this type accepts besides name/type/url/base_url
    options: ClassVar[tuple[str, ...]]

    def __init__(self, config: SourceConfig, settings: Settings) -> None: ...

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult: ...


REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    REGISTRY[cls.type] = cls
    register_source_type(cls.type, cls.options)
    return cls


def build(config: SourceConfig, settings: Settings) -> Source:
    return REGISTRY[config.type](config, settings)
