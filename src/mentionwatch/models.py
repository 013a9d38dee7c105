"""Plain frozen records passed between the stages of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# "unscored": the post is in a language the engine has no model for (score is None).
SentimentLabel = Literal["positive", "neutral", "negative", "unscored"]
SourceStatus = Literal["ok", "not-modified", "error"]


@dataclass(frozen=True, slots=True)
class RawItem:
    """One post as a source adapter saw it: untrusted text, not yet matched."""

    external_id: str
    url: str
    title: str
    text: str  # plain text: HTML already stripped and entities decoded
    author: str = ""
    published: datetime | None = None  # timezone-aware UTC
    lang: str | None = None
    # Raw counters under the source's own names (points, score, likes, views, followers).
    counters: tuple[tuple[str, int], ...] = ()

    @property
    def reach(self) -> int | None:
        """One comparable-enough number: the largest raw counter, or None without any."""
        return max((v for _, v in self.counters), default=None)


@dataclass(frozen=True, slots=True)
class SourceState:
    """What a source remembers between runs (conditional GET and cursors)."""

    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What an adapter returns: the items, the state for next time, and any warnings."""

    items: tuple[RawItem, ...]
    state: SourceState
    not_modified: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Span:
    """A match in the original (title + "\\n" + text) string: [start, end)."""

    start: int
    end: int
    term: str


@dataclass(frozen=True, slots=True)
class Match:
    """A brand found in a post: which configured terms matched and where."""

    brand: str
    terms: tuple[str, ...]
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Sentiment:
    score: float | None  # -1.0 .. 1.0; None when unscored
    label: SentimentLabel
    engine: str
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class SourceReport:
    """How one source fared in one run."""

    name: str
    type: str
    status: SourceStatus
    items: int = 0
    new_mentions: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunReport:
    started: datetime
    finished: datetime
    sources: tuple[SourceReport, ...]
    new_mention_ids: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> tuple[SourceReport, ...]:
        return tuple(s for s in self.sources if s.status == "error")
