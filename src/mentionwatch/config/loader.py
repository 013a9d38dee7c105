"""Load, validate and represent the YAML configuration (frozen dataclasses)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import platformdirs
import yaml

from ..errors import ConfigError
from ..timeutil import parse_duration

if TYPE_CHECKING:
    from .alerts import AlertsConfig
    from .policy import InboxConfig, PolicyRule


@dataclass(frozen=True, slots=True)
class Brand:
    """A brand to watch. A post mentions it when ANY keyword appears, ALSO one of
    ``require`` (when given), and NONE of ``exclude``."""

    name: str
    keywords: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    query: str | None = None
    # Webcare target: mentions of this brand should be answered within this long.
    respond_within: timedelta | None = None


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One configured source. ``options`` keeps the type-specific keys (tags, site...)."""

    name: str
    type: str
    url: str | None = None
    base_url: str | None = None
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)


@dataclass(frozen=True, slots=True)
class Settings:
    concurrency: int = 16
    concurrency_per_host: int = 4  # politeness: at most this many requests to one server at once
    timeout: float = 20.0
    user_agent: str | None = None
    sentiment: str = "vader"
    max_body_bytes: int = 5 * 1024 * 1024
    retries: int = 2
    max_pages: int = 5  # per source (and per search term) per scan: bounded first runs


@dataclass(frozen=True, slots=True)
class EmailConfig:
    host: str
    port: int = 587
    sender: str = ""
    to: tuple[str, ...] = ()
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password_env: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    brands: tuple[Brand, ...]
    sources: tuple[SourceConfig, ...]
    settings: Settings = field(default_factory=Settings)
    database: Path | None = None
    email: EmailConfig | None = None
    alerts: AlertsConfig | None = None
    policy: tuple[PolicyRule, ...] = ()
    inbox: InboxConfig | None = None


# --------------------------------------------------------------------------- loading

CONFIG_ENV = "MENTIONWATCH_CONFIG"
DB_ENV = "MENTIONWATCH_DB"
CONFIG_FILENAME = "mentionwatch.yaml"

# Which keys each kind of source accepts besides the common ones. The adapters
# themselves register here (see sources/__init__.py) so config and code agree.
COMMON_SOURCE_KEYS = ("name", "type", "url", "base_url")
SOURCE_TYPES: dict[str, tuple[str, ...]] = {}
# A source type's own checks of its options: (key, problem) pairs, reported with
# the file, line and key path like every other config error.
Validator = Callable[["SourceConfig"], list[tuple[str, str]]]
SOURCE_VALIDATORS: dict[str, Validator] = {}

TOP_KEYS = (
    "database",
    "settings",
    "brands",
    "keywords",
    "email",
    "sources",
    "alerts",
    "policy",
    "inbox",
)
SETTINGS_KEYS = (
    "concurrency",
    "concurrency_per_host",
    "timeout",
    "user_agent",
    "sentiment",
    "max_body_bytes",
    "retries",
    "max_pages",
)
BRAND_KEYS = ("name", "keywords", "exclude", "require", "query", "respond_within")
EMAIL_KEYS = (
    "host",
    "port",
    "from",
    "to",
    "starttls",
    "tls",
    "username",
    "password_env",
)

Path_ = tuple[str | int, ...]


def register_source_type(
    name: str, extra_keys: tuple[str, ...] = (), validator: Validator | None = None
) -> None:
    SOURCE_TYPES[name] = extra_keys
    if validator is not None:
        SOURCE_VALIDATORS[name] = validator


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the config is: --config > $MENTIONWATCH_CONFIG > ./mentionwatch.yaml > user dir."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    local = Path(CONFIG_FILENAME)
    if local.exists():
        return local
    user = Path(platformdirs.user_config_dir("mentionwatch")) / CONFIG_FILENAME
    if user.exists():
        return user
    raise ConfigError(
        f"no config found: pass --config, set ${CONFIG_ENV}, or create ./{CONFIG_FILENAME} "
        "(`mentionwatch init` writes a starter)"
    )


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("mentionwatch")) / "mentions.db"


def resolve_db_path(config: Config | None, explicit: str | os.PathLike[str] | None) -> Path:
    """--db > config `database:` > $MENTIONWATCH_DB > the user data dir."""
    if explicit:
        return Path(explicit)
    if config is not None and config.database is not None:
        return config.database
    if env := os.environ.get(DB_ENV):
        return Path(env)
    return default_db_path()


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file; every error names file, line and key path."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from None
    return parse_config(raw, filename=str(p), path=p)


def parse_config(text: str, *, filename: str = "<config>", path: Path | None = None) -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{filename}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{filename}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{filename}: invalid YAML: nested too deeply") from None
    reader = _Reader(filename)
    data = reader.convert(node, ()) if node is not None else None
    return _build(reader, data, path)


class _Reader:
    """Turns a YAML node tree into plain values, remembering the line of every key path."""

    # Far beyond any real config, and what stops YAML aliases that expand into each
    # other (a few lines can stand for billions of values) or into themselves.
    MAX_VALUES = 100_000
    MAX_DEPTH = 40

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[Path_, int] = {}
        self.values = 0

    def convert(self, node: yaml.Node, at: Path_) -> Any:
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

    def error(self, at: Path_, message: str) -> ConfigError:
        line = None
        probe = at
        while line is None:
            line = self.lines.get(probe)
            if not probe:
                break
            probe = probe[:-1]
        where = f"{self.filename}:{line}" if line else self.filename
        key = _dotted(at)
        return ConfigError(f"{where}: {key}: {message}" if key else f"{where}: {message}")


def _dotted(at: Path_) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_keys(r: _Reader, data: Mapping[str, Any], allowed: tuple[str, ...], at: Path_) -> None:
    for key in data:
        if key not in allowed:
            hint = _did_you_mean(key, allowed) or f" (expected one of: {', '.join(allowed)})"
            raise r.error((*at, key), f"unknown key{hint}")


def _expect(r: _Reader, value: Any, kind: type | tuple[type, ...], at: Path_, what: str) -> Any:
    # bool is an int in Python; a YAML `yes` where a number belongs is a mistake.
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise r.error(at, f"expected {what}, got {value!r}")
    if not isinstance(value, kind):
        raise r.error(at, f"expected {what}, got {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _strings(r: _Reader, value: Any, at: Path_, *, allow_empty: bool = True) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    _expect(r, value, list, at, "a list of strings")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)  # a keyword like 3M or 7-Eleven may arrive as a number
        _expect(r, item, str, (*at, i), "a string")
        if not item.strip():
            raise r.error((*at, i), "empty string")
        out.append(item.strip())
    if not out and not allow_empty:
        raise r.error(at, "must not be empty")
    return tuple(out)


def check_url(r: _Reader, value: Any, at: Path_) -> str:
    _expect(r, value, str, at, "a URL")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise r.error(at, f"invalid URL {value!r}: expected http:// or https:// with a host")
    return str(value.strip())


def _build(r: _Reader, data: Any, path: Path | None) -> Config:
    if data is None:
        raise r.error((), "the config is empty: it needs `brands:` (or `keywords:`) and `sources:`")
    _expect(r, data, dict, (), "a mapping at the top level")
    _check_keys(r, data, TOP_KEYS, ())
    brands = _brands(r, data)
    sources = _sources(r, data.get("sources"))
    settings = _settings(r, data.get("settings"))
    database = None
    if data.get("database") is not None:
        db = _expect(r, data["database"], str, ("database",), "a file path")
        database = Path(os.path.expanduser(db))
        if not database.is_absolute() and path is not None:
            # Relative to the config file, so cron jobs work from any directory.
            database = path.parent / database
    email = _email(r, data["email"]) if data.get("email") is not None else None
    from .alerts import parse_alerts  # late: it builds on this module's helpers

    alerts = parse_alerts(
        r, data.get("alerts"), brands=[b.name for b in brands], has_email=email is not None
    )
    from .policy import parse_inbox, parse_policy  # late, like alerts_config

    policy = parse_policy(
        r,
        data.get("policy"),
        brands=[b.name for b in brands],
        alert_rules=[rule.name for rule in alerts.rules] if alerts else (),
    )
    inbox = parse_inbox(r, data.get("inbox"))
    return Config(
        path=path,
        brands=brands,
        sources=sources,
        settings=settings,
        database=database,
        email=email,
        alerts=alerts,
        policy=policy,
        inbox=inbox,
    )


def _brands(r: _Reader, data: dict[str, Any]) -> tuple[Brand, ...]:
    brands: list[Brand] = []
    if "keywords" in data:
        words = _strings(r, data["keywords"], ("keywords",), allow_empty=False)
        brands.append(Brand(name=words[0], keywords=words))
    raw = data.get("brands")
    if raw is None and not brands:
        raise r.error((), "missing `brands:` (or a top-level `keywords:` list)")
    if raw is not None:
        _expect(r, raw, list, ("brands",), "a list of brands")
        for i, item in enumerate(raw):
            at: Path_ = ("brands", i)
            _expect(r, item, dict, at, "a mapping with name and keywords")
            _check_keys(r, item, BRAND_KEYS, at)
            name = required_name(r, item, at)
            if item.get("query") is not None:
                if any(item.get(key) is not None for key in ("keywords", "require", "exclude")):
                    raise r.error(
                        (*at, "query"),
                        f"brand {name!r}: give either `query` or keywords/require/exclude, "
                        "not both",
                    )
                query = _expect(r, item["query"], str, (*at, "query"), "a query string")
                brand = Brand(
                    name=name,
                    keywords=(),
                    query=query.strip(),
                    respond_within=duration(r, item, "respond_within", at),
                )
                # Late import (the matcher imports this module): compiling checks the syntax,
                # naming the column, and that every term can match, so a bad query is a
                # config error with its file and line, not a surprise at scan time.
                from ..analysis.matcher import compile_brands

                try:
                    compile_brands([brand])
                except ConfigError as exc:
                    raise r.error((*at, "query"), str(exc)) from None
                brands.append(brand)
                continue
            if not item.get("keywords"):
                raise r.error(at, f"brand {name!r} has no keywords (nor a query)")
            brands.append(
                Brand(
                    name=name,
                    keywords=_strings(r, item["keywords"], (*at, "keywords"), allow_empty=False),
                    exclude=_strings(r, item.get("exclude") or [], (*at, "exclude")),
                    require=_strings(r, item.get("require") or [], (*at, "require")),
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


def required_name(r: _Reader, item: Mapping[str, Any], at: Path_) -> str:
    """The `name:` every brand, rule and policy needs: present, a string, not blank."""
    name = item.get("name")
    if name is None:
        raise r.error(at, "missing `name`")
    name = str(_expect(r, name, (str, int), (*at, "name"), "a name")).strip()
    if not name:
        raise r.error((*at, "name"), "empty name")
    return name


def duration(r: _Reader, section: Mapping[str, Any], key: str, at: Path_) -> timedelta | None:
    """An optional duration such as 30m, 4h, 2d, 1w (None when absent)."""
    value = section.get(key)
    if value is None:
        return None
    parsed = parse_duration(value) if isinstance(value, str) else None
    if parsed is None or parsed.total_seconds() <= 0:
        raise r.error((*at, key), f"expected a duration such as 30m, 4h, 2d or 1w, got {value!r}")
    return parsed


def _source_name_from_url(url: str) -> str:
    parts = urlsplit(url)
    name = (parts.hostname or "") + parts.path.rstrip("/")
    return name or url


def _sources(r: _Reader, raw: Any) -> tuple[SourceConfig, ...]:
    # Adapters register their type names on import; late, as they import this module.
    from .. import sources as _registered  # noqa: F401

    if raw is None:
        raise r.error((), "missing `sources:` (a list of feed URLs or source mappings)")
    _expect(r, raw, list, ("sources",), "a list of sources")
    if not raw:
        raise r.error(("sources",), "no sources: add at least one")
    out: list[SourceConfig] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        at: Path_ = ("sources", i)
        if isinstance(item, str):
            url = check_url(r, item, at)
            src = SourceConfig(name=_source_name_from_url(url), type="rss", url=url)
        else:
            src = _source_mapping(r, item, at)
        if src.name in names:
            raise r.error(at, f"duplicate source name {src.name!r}: give each a unique `name`")
        names.add(src.name)
        out.append(src)
    return tuple(out)


def _source_mapping(r: _Reader, item: Any, at: Path_) -> SourceConfig:
    _expect(r, item, dict, at, "a URL or a mapping")
    url = check_url(r, item["url"], (*at, "url")) if item.get("url") is not None else None
    kind = item.get("type", "rss" if url else None)
    if kind is None:
        raise r.error(at, "missing `type` (or a `url` for an RSS/Atom/JSON feed)")
    _expect(r, kind, str, (*at, "type"), "a source type")
    if kind not in SOURCE_TYPES:
        hint = _did_you_mean(kind, list(SOURCE_TYPES))
        known = ", ".join(sorted(SOURCE_TYPES))
        raise r.error((*at, "type"), f"unknown source type {kind!r}{hint}; known: {known}")
    _check_keys(r, item, COMMON_SOURCE_KEYS + SOURCE_TYPES[kind], at)
    if kind == "rss" and url is None:
        raise r.error((*at, "url"), "missing")
    base_url = None
    if item.get("base_url") is not None:
        base_url = check_url(r, item["base_url"], (*at, "base_url")).rstrip("/")
    name = item.get("name")
    if name is None:
        name = _source_name_from_url(url) if url else kind
    name = str(_expect(r, name, (str, int), (*at, "name"), "a name")).strip()
    if not name:
        raise r.error((*at, "name"), "empty name")
    options = tuple((k, v) for k, v in item.items() if k not in COMMON_SOURCE_KEYS)
    src = SourceConfig(name=name, type=kind, url=url, base_url=base_url, options=options)
    if kind in SOURCE_VALIDATORS:
        for key, problem in SOURCE_VALIDATORS[kind](src):
            raise r.error((*at, key) if key else at, problem)
    return src


def _number(
    r: _Reader,
    section: dict[str, Any],
    key: str,
    at: Path_,
    default: float,
    *,
    low: float,
    high: float,
    integer: bool,
) -> Any:
    if key not in section or section[key] is None:
        return default
    value = _expect(r, section[key], int if integer else (int, float), (*at, key), "a number")
    if not low <= value <= high:
        raise r.error((*at, key), f"must be between {low:g} and {high:g}, got {value}")
    return value


def _settings(r: _Reader, raw: Any) -> Settings:
    if raw is None:
        return Settings()
    at: Path_ = ("settings",)
    _expect(r, raw, dict, at, "a mapping")
    _check_keys(r, raw, SETTINGS_KEYS, at)
    from ..analysis.sentiment import ENGINES  # late: sentiment imports heavy engines lazily anyway

    engine = raw.get("sentiment", "vader")
    _expect(r, engine, str, (*at, "sentiment"), "an engine name")
    if engine not in ENGINES:
        hint = _did_you_mean(engine, list(ENGINES))
        raise r.error(
            (*at, "sentiment"),
            f"unknown engine {engine!r}{hint}; known: {', '.join(ENGINES)}",
        )
    ua = raw.get("user_agent")
    if ua is not None:
        _expect(r, ua, str, (*at, "user_agent"), "a string")
    return Settings(
        concurrency=int(_number(r, raw, "concurrency", at, 16, low=1, high=256, integer=True)),
        concurrency_per_host=int(
            _number(r, raw, "concurrency_per_host", at, 4, low=1, high=256, integer=True)
        ),
        timeout=float(_number(r, raw, "timeout", at, 20.0, low=0.1, high=3600, integer=False)),
        user_agent=ua,
        sentiment=engine,
        max_body_bytes=int(
            _number(
                r, raw, "max_body_bytes", at, 5 * 1024 * 1024, low=1024, high=2**31, integer=True
            )
        ),
        retries=int(_number(r, raw, "retries", at, 2, low=0, high=10, integer=True)),
        max_pages=int(_number(r, raw, "max_pages", at, 5, low=1, high=100, integer=True)),
    )


def _email(r: _Reader, raw: Any) -> EmailConfig:
    at: Path_ = ("email",)
    _expect(r, raw, dict, at, "a mapping")
    _check_keys(r, raw, EMAIL_KEYS, at)
    if not raw.get("host"):
        raise r.error(at, "missing `host`")
    flag: Callable[[str], bool] = lambda k: bool(  # noqa: E731
        _expect(r, raw.get(k, False), bool, (*at, k), "true or false")
    )
    if flag("starttls") and flag("tls"):
        raise r.error(at, "choose one of `starttls` and `tls`")
    return EmailConfig(
        host=str(_expect(r, raw["host"], str, (*at, "host"), "a host name")),
        port=int(_number(r, raw, "port", at, 587, low=1, high=65535, integer=True)),
        sender=str(_expect(r, raw.get("from", ""), str, (*at, "from"), "an address")),
        to=_strings(r, raw.get("to") or [], (*at, "to")),
        starttls=flag("starttls"),
        tls=flag("tls"),
        username=raw.get("username"),
        password_env=raw.get("password_env"),
    )
