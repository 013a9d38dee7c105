"""The `inbox:` config section: webcare response-time targets per sentiment label, and
the horizon beyond which a mention no longer waits for an answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .reader import KeyPath, Reader, check_keys, duration, expect

SENTIMENT_LABELS = ("negative", "neutral", "positive")
INBOX_KEYS = ("respond_within", "horizon")
# Older unhandled mentions leave the inbox: a post two weeks old is history, not a
# conversation to join, and the inbox then reads days, not the whole store.
DEFAULT_HORIZON = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class InboxConfig:
    """Response-time targets per sentiment label (``negative``, ``neutral``, ``positive``).

    A brand's own ``respond_within`` also applies; the stricter (shorter) target wins,
    see :func:`mentionwatch.webcare.inbox.response_target`.
    """

    respond_within: tuple[tuple[str, timedelta], ...] = ()
    horizon: timedelta = DEFAULT_HORIZON  # the inbox lists mentions at most this old

    def target(self, label: str | None) -> timedelta | None:
        return dict(self.respond_within).get(label or "neutral")


def parse_inbox(r: Reader, raw: Any) -> InboxConfig | None:
    """The `inbox:` section (``None`` when absent). ``respond_within`` is one duration for
    every mention, or a mapping from sentiment label to duration."""
    if raw is None:
        return None
    at: KeyPath = ("inbox",)
    expect(r, raw, dict, at, "a mapping (respond_within)")
    check_keys(r, raw, INBOX_KEYS, at)
    horizon = duration(r, raw, "horizon", at) or DEFAULT_HORIZON
    value = raw.get("respond_within")
    if value is None:
        return InboxConfig(horizon=horizon)
    if not isinstance(value, dict):
        # One target for everything: the plain `respond_within: 4h` of a brand.
        target = duration(r, raw, "respond_within", at)
        assert target is not None
        same = tuple((label, target) for label in SENTIMENT_LABELS)
        return InboxConfig(respond_within=same, horizon=horizon)
    where: KeyPath = (*at, "respond_within")
    check_keys(r, value, SENTIMENT_LABELS, where)
    targets = []
    for label in SENTIMENT_LABELS:
        target = duration(r, value, label, where)
        if target is not None:
            targets.append((label, target))
    return InboxConfig(respond_within=tuple(targets), horizon=horizon)
