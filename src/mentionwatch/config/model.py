"""The records a config is made of: brands, sources, settings, e-mail (frozen dataclasses).

The whole :class:`~.loader.Config` and the sections with rules of their own (alerts,
policy, inbox) keep their records beside the code that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit


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
    # own: ours to answer (inbox, "needs an answer", response targets). competitor and
    # topic are only counted (volume, sentiment, share of voice, alerts naming them).
    role: str = "own"
    # Posts that do not count as mentions of this brand (the global lists merged in):
    # authors (case-insensitive, a leading @ ignored), domains (and their subdomains),
    # source names.
    exclude_authors: tuple[str, ...] = ()
    exclude_domains: tuple[str, ...] = ()
    exclude_sources: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        """Whether its mentions are ours to answer (the inbox, response targets)."""
        return self.role == "own"

    def excludes(self, source: str, author: str, url: str) -> bool:
        """Whether a post from ``source`` by ``author`` at ``url`` is left out for this brand."""
        if source.casefold() in self.exclude_sources:
            return True
        if author and author.casefold().lstrip("@") in self.exclude_authors:
            return True
        if self.exclude_domains and url:
            host = (urlsplit(url).hostname or "").casefold().rstrip(".")
            return any(host == d or host.endswith("." + d) for d in self.exclude_domains)
        return False


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
    sentiment: str = "model"  # see analysis/sentiment.py ENGINES
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
