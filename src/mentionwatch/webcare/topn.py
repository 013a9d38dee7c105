"""The N best of a stream, for the newest-first walks that rank the inbox and the
digest's lists without reading every row: keys are tuples, higher is better."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Best:
    """The ``size`` highest-ranked candidates seen so far (key: higher is better)."""

    size: int
    items: list[tuple[tuple[Any, ...], str]] = field(default_factory=list)

    def add(self, key: tuple[Any, ...], mid: str) -> None:
        self.items.append((key, mid))
        # Trimmed in batches: sorting on every add would cost the walk more than it saves.
        if len(self.items) >= 4 * self.size + 64:
            self.trim()

    def trim(self) -> None:
        self.items.sort(reverse=True)
        del self.items[self.size :]

    def floor(self) -> tuple[Any, ...] | None:
        """The key a newcomer must beat, once full."""
        self.trim()
        return self.items[-1][0] if len(self.items) >= self.size else None

    def ids(self) -> list[str]:
        self.trim()
        return [mid for _, mid in self.items]


class DescendingId(str):
    """An id that sorts backwards, so (…, DescendingId(id)) keys, higher first, rank
    ties by id ascending, as the documented orders do."""

    __slots__ = ()

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)

    def __gt__(self, other: str) -> bool:
        return str.__lt__(self, other)
