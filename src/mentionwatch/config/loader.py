"""Find the config file, and read the whole of it into a :class:`Config`, section by
section (one module each), every error naming file, line and key path."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import yaml

from ..errors import ConfigError
from .alerts import AlertsConfig, parse_alerts
from .brands import parse_brands
from .catalog import Catalog
from .email import parse_email
from .inbox import InboxConfig, parse_inbox
from .model import Brand, EmailConfig, Settings, SourceConfig
from .policy import PolicyRule, parse_policy
from .reader import Reader, check_keys, expect
from .settings import parse_settings
from .sources import parse_sources

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
    # Global exclusions, merged into every brand's own (config/brands.py).
    "exclude_authors",
    "exclude_domains",
    "exclude_sources",
)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole config file, read and checked. ``path``: where it was read from."""

    path: Path | None
    brands: tuple[Brand, ...]
    sources: tuple[SourceConfig, ...]
    settings: Settings = field(default_factory=Settings)
    database: Path | None = None
    email: EmailConfig | None = None
    alerts: AlertsConfig | None = None
    policy: tuple[PolicyRule, ...] = ()
    inbox: InboxConfig | None = None


CONFIG_ENV = "MENTIONWATCH_CONFIG"
DB_ENV = "MENTIONWATCH_DB"
CONFIG_FILENAME = "mentionwatch.yaml"


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


def load_config(path: str | os.PathLike[str], catalog: Catalog) -> Config:
    """Read and validate a config file; every error names file, line and key path."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from None
    return parse_config(raw, catalog, filename=str(p), path=p)


def parse_config(
    text: str, catalog: Catalog, *, filename: str = "<config>", path: Path | None = None
) -> Config:
    """Read and validate config text; ``catalog``: what this install knows (catalog.py)."""
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
    reader = Reader(filename, catalog)
    data = reader.convert(node, ()) if node is not None else None
    return _build(reader, data, path)


def _build(r: Reader, data: Any, path: Path | None) -> Config:
    if data is None:
        raise r.error((), "the config is empty: it needs `brands:` (or `keywords:`) and `sources:`")
    expect(r, data, dict, (), "a mapping at the top level")
    check_keys(r, data, TOP_KEYS, ())
    brands = parse_brands(r, data)
    sources = parse_sources(r, data.get("sources"))
    settings = parse_settings(r, data.get("settings"))
    database = None
    if data.get("database") is not None:
        db = expect(r, data["database"], str, ("database",), "a file path")
        database = Path(os.path.expanduser(db))
        if not database.is_absolute() and path is not None:
            # Relative to the config file, so cron jobs work from any directory.
            database = path.parent / database
    email = parse_email(r, data["email"]) if data.get("email") is not None else None
    alerts = parse_alerts(
        r,
        data.get("alerts"),
        brands=[b.name for b in brands],
        own_brands=[b.name for b in brands if b.answerable],
        has_email=email is not None,
    )
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
