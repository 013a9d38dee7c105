"""The `brands:` section (and the top-level `keywords:` shorthand): who is watched and by
which keywords, exclusions, required words or boolean query."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .model import Brand
from .reader import KeyPath, Reader, check_keys, duration, expect, required_name, strings

BRAND_KEYS = ("name", "keywords", "exclude", "require", "query", "respond_within")


def parse_brands(r: Reader, data: dict[str, Any]) -> tuple[Brand, ...]:
    brands: list[Brand] = []
    if "keywords" in data:
        words = strings(r, data["keywords"], ("keywords",), allow_empty=False)
        brands.append(Brand(name=words[0], keywords=words))
    raw = data.get("brands")
    if raw is None and not brands:
        raise r.error((), "missing `brands:` (or a top-level `keywords:` list)")
    if raw is not None:
        expect(r, raw, list, ("brands",), "a list of brands")
        for i, item in enumerate(raw):
            at: KeyPath = ("brands", i)
            expect(r, item, dict, at, "a mapping with name and keywords")
            check_keys(r, item, BRAND_KEYS, at)
            name = required_name(r, item, at)
            if item.get("query") is not None:
                if any(item.get(key) is not None for key in ("keywords", "require", "exclude")):
                    raise r.error(
                        (*at, "query"),
                        f"brand {name!r}: give either `query` or keywords/require/exclude, "
                        "not both",
                    )
                query = expect(r, item["query"], str, (*at, "query"), "a query string")
                brand = Brand(
                    name=name,
                    keywords=(),
                    query=query.strip(),
                    respond_within=duration(r, item, "respond_within", at),
                )
                # Compiling checks the syntax, naming the column, and that every term can
                # match, so a bad query is a config error with its file and line, not a
                # surprise at scan time.
                try:
                    r.catalog.check_brand(brand)
                except ConfigError as exc:
                    raise r.error((*at, "query"), str(exc)) from None
                brands.append(brand)
                continue
            if not item.get("keywords"):
                raise r.error(at, f"brand {name!r} has no keywords (nor a query)")
            brands.append(
                Brand(
                    name=name,
                    keywords=strings(r, item["keywords"], (*at, "keywords"), allow_empty=False),
                    exclude=strings(r, item.get("exclude") or [], (*at, "exclude")),
                    require=strings(r, item.get("require") or [], (*at, "require")),
                    respond_within=duration(r, item, "respond_within", at),
                )
            )
    if not brands:
        raise r.error(("brands",), "no brands: add at least one")
    seen: dict[str, int] = {}
    for i, b in enumerate(brands):
        if b.name.casefold() in seen:
            raise r.error(("brands", i, "name"), f"duplicate brand name {b.name!r}")
        seen[b.name.casefold()] = i
    return tuple(brands)
