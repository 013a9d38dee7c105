"""The `sources:` section: feed URLs and typed sources, each checked against the options
its type declares (see catalog.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .model import SourceConfig
from .reader import KeyPath, Reader, check_keys, check_url, did_you_mean, expect

# Keys every source takes; a type adds its own (SourceSchema.options).
COMMON_SOURCE_KEYS = ("name", "type", "url", "base_url")


def source_name_from_url(url: str) -> str:
    parts = urlsplit(url)
    name = (parts.hostname or "") + parts.path.rstrip("/")
    return name or url


def parse_sources(r: Reader, raw: Any) -> tuple[SourceConfig, ...]:
    if raw is None:
        raise r.error((), "missing `sources:` (a list of feed URLs or source mappings)")
    expect(r, raw, list, ("sources",), "a list of sources")
    if not raw:
        raise r.error(("sources",), "no sources: add at least one")
    out: list[SourceConfig] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        at: KeyPath = ("sources", i)
        if isinstance(item, str):
            url = check_url(r, item, at)
            src = SourceConfig(name=source_name_from_url(url), type="rss", url=url)
        else:
            src = _source_mapping(r, item, at)
        if src.name in names:
            raise r.error(at, f"duplicate source name {src.name!r}: give each a unique `name`")
        names.add(src.name)
        out.append(src)
    return tuple(out)


def _source_mapping(r: Reader, item: Any, at: KeyPath) -> SourceConfig:
    expect(r, item, dict, at, "a URL or a mapping")
    url = check_url(r, item["url"], (*at, "url")) if item.get("url") is not None else None
    kind = item.get("type", "rss" if url else None)
    if kind is None:
        raise r.error(at, "missing `type` (or a `url` for an RSS/Atom/JSON feed)")
    expect(r, kind, str, (*at, "type"), "a source type")
    types = r.catalog.source_types
    if kind not in types:
        hint = did_you_mean(kind, list(types))
        known = ", ".join(sorted(types))
        raise r.error((*at, "type"), f"unknown source type {kind!r}{hint}; known: {known}")
    check_keys(r, item, COMMON_SOURCE_KEYS + types[kind].options, at)
    if kind == "rss" and url is None:
        raise r.error((*at, "url"), "missing")
    base_url = None
    if item.get("base_url") is not None:
        base_url = check_url(r, item["base_url"], (*at, "base_url")).rstrip("/")
    name = item.get("name")
    if name is None:
        name = source_name_from_url(url) if url else kind
    name = str(expect(r, name, (str, int), (*at, "name"), "a name")).strip()
    if not name:
        raise r.error((*at, "name"), "empty name")
    options = tuple((k, v) for k, v in item.items() if k not in COMMON_SOURCE_KEYS)
    src = SourceConfig(name=name, type=kind, url=url, base_url=base_url, options=options)
    validate = types[kind].validate
    if validate is not None:
        for key, problem in validate(src):
            raise r.error((*at, key) if key else at, problem)
    return src
