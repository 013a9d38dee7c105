"""The toolkit every config section is read with: a YAML node tree turned into plain
values that remember their line, and the checks that report a problem as
``file:line: key.path: message``.

Each section module (brands, sources, settings, email, alerts, policy, inbox) reads its
part of the file with these, so every error looks the same wherever it comes from.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..errors import ConfigError
from ..timeutil import parse_duration
from .catalog import Catalog
from .model import Brand

# Where a value sits in the file: ("sources", 3, "url") for sources[3].url.
KeyPath = tuple[str | int, ...]


class Reader:
    """Turns a YAML node tree into plain values, remembering the line of every key path,
    and makes errors that name them."""

    # Far beyond any real config, and what stops YAML aliases that expand into each
    # other (a few lines can stand for billions of values) or into themselves.
    MAX_VALUES = 100_000
    MAX_DEPTH = 40

    def __init__(self, filename: str, catalog: Catalog) -> None:
        self.filename = filename
        # What this install can do (source types, engines, term checks): see catalog.py.
        self.catalog = catalog
        self.lines: dict[KeyPath, int] = {}
        self.values = 0

    def convert(self, node: yaml.Node, at: KeyPath) -> Any:
        self.values += 1
        if self.values > self.MAX_VALUES or len(at) > self.MAX_DEPTH:
            raise self.error(
                at[:1],
                "too large or nested too deeply (YAML aliases that repeat or contain themselves?)",
            )
        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str):
                    raise self.error(at, "keys must be plain strings")
                if key in out:
                    self.lines[(*at, key)] = key_node.start_mark.line + 1
                    raise self.error((*at, key), "duplicate key")
                out[key] = self.convert(value_node, (*at, key))
                self.lines[(*at, key)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(child, (*at, i)) for i, child in enumerate(node.value)]
        # Scalars: let the safe constructor decide int / float / bool / null / str.
        loader = yaml.SafeLoader("")
        try:
            return loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.error(at, f"invalid value: {exc.problem}") from None

    def error(self, at: KeyPath, message: str) -> ConfigError:
        line = None
        probe = at
        while line is None:
            line = self.lines.get(probe)
            if not probe:
                break
            probe = probe[:-1]
        where = f"{self.filename}:{line}" if line else self.filename
        key = dotted(at)
        return ConfigError(f"{where}: {key}: {message}" if key else f"{where}: {message}")


def dotted(at: KeyPath) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(r: Reader, data: Mapping[str, Any], allowed: tuple[str, ...], at: KeyPath) -> None:
    for key in data:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f" (expected one of: {', '.join(allowed)})"
            raise r.error((*at, key), f"unknown key{hint}")


def expect(r: Reader, value: Any, kind: type | tuple[type, ...], at: KeyPath, what: str) -> Any:
    # bool is an int in Python; a YAML `yes` where a number belongs is a mistake.
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise r.error(at, f"expected {what}, got {value!r}")
    if not isinstance(value, kind):
        raise r.error(at, f"expected {what}, got {describe(value)}")
    return value


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def strings(r: Reader, value: Any, at: KeyPath, *, allow_empty: bool = True) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    expect(r, value, list, at, "a list of strings")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)  # a keyword like 3M or 7-Eleven may arrive as a number
        expect(r, item, str, (*at, i), "a string")
        if not item.strip():
            raise r.error((*at, i), "empty string")
        out.append(item.strip())
    if not out and not allow_empty:
        raise r.error(at, "must not be empty")
    return tuple(out)


def check_url(r: Reader, value: Any, at: KeyPath) -> str:
    expect(r, value, str, at, "a URL")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise r.error(at, f"invalid URL {value!r}: expected http:// or https:// with a host")
    return str(value.strip())


def required_name(r: Reader, item: Mapping[str, Any], at: KeyPath) -> str:
    """The `name:` every brand, rule and policy needs: present, a string, not blank."""
    name = item.get("name")
    if name is None:
        raise r.error(at, "missing `name`")
    name = str(expect(r, name, (str, int), (*at, "name"), "a name")).strip()
    if not name:
        raise r.error((*at, "name"), "empty name")
    return name


def duration(r: Reader, section: Mapping[str, Any], key: str, at: KeyPath) -> timedelta | None:
    """An optional duration such as 30m, 4h, 2d, 1w (None when absent)."""
    value = section.get(key)
    if value is None:
        return None
    parsed = parse_duration(value) if isinstance(value, str) else None
    if parsed is None or parsed.total_seconds() <= 0:
        raise r.error((*at, key), f"expected a duration such as 30m, 4h, 2d or 1w, got {value!r}")
    return parsed


def number(
    r: Reader,
    section: dict[str, Any],
    key: str,
    at: KeyPath,
    default: float,
    *,
    low: float,
    high: float,
    integer: bool,
) -> Any:
    if key not in section or section[key] is None:
        return default
    value = expect(r, section[key], int if integer else (int, float), (*at, key), "a number")
    if not low <= value <= high:
        raise r.error((*at, key), f"must be between {low:g} and {high:g}, got {value}")
    return value


def brand_ref(r: Reader, value: Any, at: KeyPath, brands: Sequence[str]) -> str | None:
    """A rule's optional ``brand:``: one of the configured brands, returned as spelled
    there (mentions store the brand as configured; exact queries need that spelling)."""
    if value is None:
        return None
    name = str(expect(r, value, (str, int), at, "a brand name")).strip()
    if not brands:
        return name
    for known in brands:
        if known.casefold() == name.casefold():
            return known
    hint = did_you_mean(name, list(brands))
    raise r.error(at, f"unknown brand {name!r}{hint}; configured: {', '.join(brands)}")


def check_terms(r: Reader, rule: str, terms: tuple[str, ...], at: KeyPath) -> None:
    """Terms of an alert or policy rule, each one able to match (matcher rules)."""
    for i, term in enumerate(terms):
        try:
            r.catalog.check_brand(Brand(name=rule, keywords=(term,)))
        except ConfigError as exc:
            # The matcher's message speaks of a brand; say which term and where instead.
            reason = str(exc).partition("can never match")[2]
            raise r.error((*at, i), f"{term!r} can never match{reason}") from None
