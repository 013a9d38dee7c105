"""The `brands:` section (and the top-level `keywords:` shorthand): who is watched and by
which keywords, exclusions, required words or boolean query."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from .model import Brand
from .reader import KeyPath, Reader, check_keys, duration, expect, required_name, strings

ROLES = ("own", "competitor", "topic")
EXCLUSION_KEYS = ("exclude_authors", "exclude_domains", "exclude_sources")
BRAND_KEYS = (
    "name",
    "keywords",
    "exclude",
    "require",
    "query",
    "respond_within",
    "role",
    *EXCLUSION_KEYS,
)


def _role(r: Reader, item: dict[str, Any], at: KeyPath) -> str:
    role = item.get("role", "own")
    if role not in ROLES:
        raise r.error((*at, "role"), f"expected one of {', '.join(ROLES)}, got {role!r}")
    return str(role)


def _exclusions(r: Reader, item: dict[str, Any], at: KeyPath) -> dict[str, tuple[str, ...]]:
    """The exclude_* lists of a brand (or of the top level), normalised for comparing:
    case folded, an author's leading @ and a domain's scheme, www. and path dropped."""
    out: dict[str, tuple[str, ...]] = {}
    for key in EXCLUSION_KEYS:
        values = strings(r, item.get(key) or [], (*at, key))
        folded = [v.strip().casefold() for v in values]
        if key == "exclude_authors":
            folded = [v.lstrip("@") for v in folded]
        elif key == "exclude_domains":
            folded = [
                (urlsplit(v).hostname or "") if "://" in v else v.split("/")[0] for v in folded
            ]
            folded = [v.removeprefix("www.").rstrip(".") for v in folded]
        out[key] = tuple(v for v in folded if v)
    return out


def _merge(own: dict[str, tuple[str, ...]], common: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    return {k: tuple(dict.fromkeys(common.get(k, ()) + own.get(k, ()))) for k in EXCLUSION_KEYS}


def parse_brands(r: Reader, data: dict[str, Any]) -> tuple[Brand, ...]:
    """The brands, each with the top-level exclude_* lists merged into its own."""
    common = _exclusions(r, data, ())
    brands: list[Brand] = []
    if "keywords" in data:
        words = strings(r, data["keywords"], ("keywords",), allow_empty=False)
        brands.append(Brand(name=words[0], keywords=words, **_merge({}, common)))
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
                    role=_role(r, item, at),
                    **_merge(_exclusions(r, item, at), common),
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
                    role=_role(r, item, at),
                    **_merge(_exclusions(r, item, at), common),
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
