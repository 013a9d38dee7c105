"""How much a mention needs an answer, and the stored key that orders mentions by it.

priority = tone x audience x freshness (the inbox's and the digest's order):
tone = max(0.25, 1 - sentiment), audience = 1 + log10(1 + reach),
freshness = 0.5 ** (age in hours / 24), the age never below 0.

Freshness halves a day whenever it is asked, so two mentions keep their order as time
passes: log2(priority) at time ``t`` is ``key - t`` (in days) with
``key = log2(tone x audience) + at`` (days since the epoch), a number fixed when the
mention is written. An index on ``key`` lists mentions in priority order for any moment,
and a walk down it can stop as soon as :func:`ceiling` of the key it reached is below
what it has found (the store keeps it as ``mentions.priority_key``, migration 010).
"""

from __future__ import annotations

import math
from datetime import datetime

DAY = 86_400.0
# Widens the key ranges below past the last bits of the floats (0.1 s in days).
SLACK = 1e-6
MIN_WEIGHT = 0.25  # the lowest tone x audience: tone >= 0.25, audience >= 1


def weight(sentiment: float | None, reach: int | None) -> float:
    """tone x audience: the priority of a mention of age 0."""
    tone = max(MIN_WEIGHT, 1.0 - (sentiment or 0.0))
    return tone * (1.0 + math.log10(1 + max(0, reach or 0)))


def priority_by_age(sentiment: float | None, reach: int | None, age_hours: float | None) -> float:
    """The priority at ``age_hours`` (rounded to four places: what people see and rank)."""
    freshness = math.pow(0.5, max(0.0, age_hours or 0.0) / 24)
    return round(weight(sentiment, reach) * freshness, 4)


def priority_key(sentiment: float | None, reach: int | None, at: datetime) -> float:
    """The stored key: log2 of the priority at the epoch, as if freshness had no cap."""
    return math.log2(weight(sentiment, reach)) + at.timestamp() / DAY


def ceiling(key: float, now: datetime) -> float:
    """No mention whose key is at most ``key`` has a priority above this at ``now``
    (unrounded; a mention dated after ``now`` scores less, its age counting as 0)."""
    return math.pow(2.0, key - now.timestamp() / DAY)


def lowest_key(oldest: datetime) -> float:
    """Every mention dated ``oldest`` or later has a key at least this."""
    return math.log2(MIN_WEIGHT) + oldest.timestamp() / DAY - SLACK


def highest_key(max_weight: float, newest: datetime) -> float:
    """Every mention dated ``newest`` or earlier with tone x audience at most
    ``max_weight`` has a key at most this."""
    return math.log2(max(MIN_WEIGHT, max_weight)) + newest.timestamp() / DAY + SLACK
