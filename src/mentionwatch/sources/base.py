"""The Source protocol every adapter implements, and the registry of adapters by type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import httpx

from ..config.model import Brand, Settings, SourceConfig
from ..models import FetchResult, SourceState


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What an adapter may know about the run: settings, and the brands (search APIs
    put their keywords in the query)."""

    settings: Settings
    brands: tuple[Brand, ...] = ()

    @property
    def search_terms(self) -> tuple[str, ...]:
        """Every brand keyword once (case-insensitively), in config order; for a brand
        with a query, the fewest of its terms that every match contains one of
        (query.search_cover: a phrase as its words, a prefix without the ``*``, as the
        remote searches have no prefix syntax of their own).

        The remote search only narrows the haystack; our matcher still decides what
        is a mention, so a looser remote query costs requests, never precision.
        """
        from ..config.query import parse_query, search_cover

        seen: dict[str, str] = {}
        for brand in self.brands:
            terms = brand.keywords
            if brand.query is not None:
                terms = tuple(t.text for t in search_cover(parse_query(brand.query)))
            for keyword in terms:
                seen.setdefault(keyword.casefold(), keyword)
        return tuple(seen.values())


class Source(Protocol):
    """Bytes in, RawItems out: an adapter touches neither the database nor the console."""

    type: ClassVar[str]
    #: config keys this type accepts besides name/type/url/base_url
    options: ClassVar[tuple[str, ...]]

    def __init__(self, config: SourceConfig, context: SourceContext) -> None: ...

    @staticmethod
    def validate(config: SourceConfig) -> list[tuple[str, str]]:
        """Problems with the options, as (key, message): reported as config errors
        (exit 2, with file and line) before any scan starts. [] when all is well."""
        ...

    async def fetch(self, client: httpx.AsyncClient, state: SourceState) -> FetchResult: ...


REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    # The config learns each type's options and checks from here (mentionwatch.configure).
    REGISTRY[cls.type] = cls
    return cls


def build(config: SourceConfig, context: SourceContext) -> Source:
    return REGISTRY[config.type](config, context)
